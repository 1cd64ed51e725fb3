"""Import OCA rule files (Gasgano / ESO data organiser) as reflexng cascades."""
