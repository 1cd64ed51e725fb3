from edps import ClassifiedFitsFile, Job, JobParameters, List, get_parameter

from . import edpsdemo_keywords as kwd


def which_filter(files: List[ClassifiedFitsFile]):
    # dynamic parameter: only the main input files are seen
    return files[0].get_keyword_value(kwd.filter_name, None)


def needs_dark(params: JobParameters) -> bool:
    # a workflow parameter and a dynamic parameter decide together
    return get_parameter(params, "use_dark") == "TRUE" and get_parameter(params, "filter") == "R"


def use_master_flat(params: JobParameters) -> bool:
    return params.get_workflow_param("flat_source") in ("master", "any")


def use_illumination(params: JobParameters) -> bool:
    return params.get_workflow_param("flat_source") in ("illumination", "any")


def tune_sky(job: Job):
    # job processing: a recipe parameter by its full name, from a workflow parameter
    mesh = job.parameters.workflow_parameters.get("sky_mesh")
    if mesh is not None:
        job.parameters.recipe_parameters[f"demo.{job.command}.sky_mesh"] = int(mesh)
