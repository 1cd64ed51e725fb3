"""The cascade view: the layered graph of a cascade, live job states during a run."""

from __future__ import annotations

from collections import Counter
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui.graph_model import (
    CALIBRATION,
    DATA_SOURCE,
    SCIENCE,
    GraphModel,
    build_graph,
    format_counts,
)

# science tasks teal, calibration tasks blue: neither may look like a state (orange is "incomplete")
ROLE_COLOURS = {CALIBRATION: "#8fb8de", SCIENCE: "#8dd3c7", DATA_SOURCE: "#e6e6e6"}
ROLE_GLYPHS = {CALIBRATION: "●", SCIENCE: "◆", DATA_SOURCE: ""}
STATE_COLOURS = {
    "waiting": "#d0d0d0",
    "queued": "#c9daf8",
    "running": "#4a90d9",
    "done": "#5cb85c",
    "reused": "#9fd89f",
    "failed": "#d9534f",
    "cancelled": "#7f6a93",  # a user's Stop: not a failure
    "interrupted": "#e0b878",  # the application ended during the job
    "skipped": "#b0b0b0",
    "incomplete": "#f0ad4e",
    "stale": "#e8b4d8",
    "partial": "#c5e8c5",  # some jobs done, others still waiting
}
# a glyph per state, so states differ without colour too (colour-blind users, grey print-outs)
STATE_GLYPHS = {
    "waiting": "○", "queued": "◔", "running": "▶", "done": "✓", "reused": "↻", "failed": "✗",
    "cancelled": "■", "interrupted": "↯", "skipped": "–", "incomplete": "!", "stale": "~", "partial": "◐",
}
PAUSED_COLOUR = "#b03fc4"
MIN_LABEL_PT = 9.0  # labels never shrink below this on screen: the view scrolls instead
GREY = "#f4f4f4"
TASK_W, TASK_H = 160.0, 56.0
SRC_W, SRC_H = 130.0, 30.0


class NodeItem(QGraphicsRectItem):
    def __init__(self, node, view: CascadeView) -> None:
        w, h = (TASK_W, TASK_H) if node.kind == "task" else (SRC_W, SRC_H)
        super().__init__(-w / 2, -h / 2, w, h)
        self.node = node
        self.view = view
        self.setPos(node.x, node.y)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setToolTip(f"{node.name}\n{node.recipe}" if node.recipe else node.name)
        self.label = QGraphicsSimpleTextItem(node.name, self)
        f = QFont()
        f.setBold(node.kind == "task")
        f.setPointSizeF(10 if node.kind == "task" else MIN_LABEL_PT)
        self.label.setFont(f)
        self.counts = QGraphicsSimpleTextItem("", self)
        small = QFont()
        small.setPointSizeF(MIN_LABEL_PT)
        self.counts.setFont(small)
        self.glyph = QGraphicsSimpleTextItem("", self)
        self.glyph.setFont(small)
        self.role_glyph = QGraphicsSimpleTextItem(ROLE_GLYPHS.get(node.role, "") if node.kind == "task" else "", self)
        self.role_glyph.setFont(small)
        self.breakpoint = False
        self.paused = False
        self.state: str | None = None
        self._place_labels()
        self.refresh()

    def _place_labels(self) -> None:
        r = self.rect()
        lb = self.label.boundingRect()
        top = r.top() + (6 if self.node.kind == "task" else (r.height() - lb.height()) / 2)
        self.label.setPos(-lb.width() / 2, top)
        cb = self.counts.boundingRect()
        self.counts.setPos(-cb.width() / 2, r.bottom() - cb.height() - 4)
        self.glyph.setPos(r.left() + 4, r.top() + 2)
        rb = self.role_glyph.boundingRect()
        self.role_glyph.setPos(r.right() - rb.width() - 4, r.top() + 2)

    def refresh(self) -> None:
        n = self.node
        fill = ROLE_COLOURS[n.role]
        if self.state:
            fill = STATE_COLOURS.get(self.state, fill)
        if not n.in_target:
            fill = GREY
        self.setBrush(QBrush(QColor(fill)))
        self.glyph.setText(STATE_GLYPHS.get(self.state or "", ""))
        self.setToolTip(self._tooltip())
        pen = QPen(QColor("#c33" if self.breakpoint else ("#999" if not n.in_target else "#333")))
        pen.setWidthF(3.0 if self.breakpoint else 1.2)
        if self.paused:  # "paused here": the job under inspection belongs to this task
            pen = QPen(QColor(PAUSED_COLOUR))
            pen.setWidthF(4.0)
            pen.setStyle(Qt.PenStyle.DashLine)
        elif self.state == "running":
            pen = QPen(QColor("#1f5fa8"))
            pen.setWidthF(3.5)
        if n.kind == "data_source":
            pen.setStyle(Qt.PenStyle.DotLine if not n.in_target else Qt.PenStyle.SolidLine)
        self.setPen(pen)
        self.label.setBrush(QBrush(QColor("#999" if not n.in_target else "#111")))

    def _tooltip(self) -> str:
        n = self.node
        lines = [n.name] + ([n.recipe] if n.recipe else [])
        if n.kind == "task":
            lines.append(ROLE_LABELS.get(n.role, n.role))
        if self.state:
            lines.append(f"state: {STATE_LABELS.get(self.state, self.state)}")
        if self.paused:
            lines.append("paused here")
        if self.counts.text():
            lines.append(self.counts.text())
        return "\n".join(lines)

    def set_counts(self, text: str) -> None:
        self.counts.setText(text)
        self._place_labels()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self.view.sig_node_clicked.emit(self.node.name)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.node.kind != "task":
            return
        menu = QMenu()
        act = QAction("Remove breakpoint" if self.breakpoint else "Pause before this task (breakpoint)", menu)
        act.triggered.connect(lambda: self.view.set_breakpoint(self.node.name, not self.breakpoint))
        menu.addAction(act)
        menu.exec(event.screenPos())


class CascadeView(QGraphicsView):
    """Draws a cascade; click a task → ``sig_node_clicked(name)``; breakpoints from the
    context menu → ``sig_breakpoint_changed(task, enabled)``."""

    sig_node_clicked = Signal(str)
    sig_breakpoint_changed = Signal(str, bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("cascadeView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.items_by_name: dict[str, NodeItem] = {}
        self.model: GraphModel | None = None
        self.cascade: Any = None
        self.auto_fit = True  # refit on resize until the user zooms

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(700, 320)

    # ------------------------------------------------------------------ content
    def set_cascade(self, cascade: Any, target: str | None = None) -> None:
        self.cascade = cascade
        scene = self.scene()
        scene.clear()
        self.items_by_name.clear()
        if cascade is None:
            return
        self.model = build_graph(cascade, target)
        for n in self.model.nodes.values():
            item = NodeItem(n, self)
            scene.addItem(item)
            self.items_by_name[n.name] = item
        for src, dst, role in self.model.edges:
            a, b = self.items_by_name.get(src), self.items_by_name.get(dst)
            if a is None or b is None:
                continue
            scene.addItem(self._edge(a, b, role, self.model.bends.get((src, dst), [])))
        self.fit()

    def _edge(self, a: NodeItem, b: NodeItem, role: str, bends=()) -> QGraphicsPathItem:
        p1 = a.pos() + QPointF(a.rect().right(), 0)
        p2 = b.pos() + QPointF(b.rect().left(), 0)
        path = QPainterPath(p1)
        points = [QPointF(x, y) for x, y in bends] + [p2]
        prev = p1
        for q in points:  # smooth S-curves through the layout's dummy slots
            mid = (prev.x() + q.x()) / 2
            path.cubicTo(QPointF(mid, prev.y()), QPointF(mid, q.y()), q)
            prev = q
        item = QGraphicsPathItem(path)
        pen = QPen(QColor("#333" if role == "main" else "#777"))
        pen.setWidthF(2.0 if role == "main" else 1.2)
        if role != "main":
            pen.setStyle(Qt.PenStyle.DashLine)
        if not (a.node.in_target and b.node.in_target):
            pen.setColor(QColor("#ccc"))
        item.setPen(pen)
        item.setZValue(-1)
        item.setData(0, role)
        return item

    def edge_items(self) -> list[QGraphicsPathItem]:
        return [i for i in self.scene().items() if isinstance(i, QGraphicsPathItem)]

    # ------------------------------------------------------------------ run state
    def set_task_states(self, counts: dict[str, Counter], states: dict[str, str | None]) -> None:
        for name, item in self.items_by_name.items():
            if item.node.kind != "task":
                continue
            c = counts.get(name, Counter())
            item.state = display_state(c, states.get(name))
            item.set_counts(format_counts(c))
            item.refresh()

    def set_paused_task(self, task: str | None) -> None:
        """Mark the task whose job the run is paused after (None: not paused)."""
        for name, item in self.items_by_name.items():
            if item.paused != (name == task):
                item.paused = name == task
                item.refresh()
        if task in self.items_by_name:  # a cascade wider than the view scrolls to it
            self.ensureVisible(self.items_by_name[task], 40, 20)

    def clear_states(self) -> None:
        self.set_task_states({}, {})

    def set_breakpoint(self, task: str, enabled: bool) -> None:
        item = self.items_by_name.get(task)
        if item is None:
            return
        item.breakpoint = enabled
        item.refresh()
        self.sig_breakpoint_changed.emit(task, enabled)

    def breakpoints(self) -> list[str]:
        return [n for n, i in self.items_by_name.items() if i.breakpoint]

    # ------------------------------------------------------------------ zoom / export
    def fit(self) -> None:
        """Fit the cascade into the view, but never below 1:1: labels stay at least
        MIN_LABEL_PT on screen and a large cascade scrolls instead of shrinking."""
        self.auto_fit = True
        rect = self.scene().itemsBoundingRect().adjusted(-20, -20, 20, 20)
        self.setSceneRect(rect)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() < 1.0:
            self.resetTransform()
            self.centerOn(rect.left() + self.viewport().width() / 2, rect.center().y())

    def label_points(self) -> float:
        """The smallest label size on screen, in points (tests: never below MIN_LABEL_PT)."""
        return MIN_LABEL_PT * float(self.transform().m11())

    def zoom(self, factor: float) -> None:
        self.auto_fit = False
        if factor < 1 and self.transform().m11() * factor < 0.5:  # a whole-cascade overview, at most
            return
        self.scale(factor, factor)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.auto_fit and self.items_by_name:
            self.fit()

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.zoom(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)

    def export_png(self, path: str, scale: float = 2.0) -> None:
        rect = self.scene().itemsBoundingRect().adjusted(-20, -20, 20, 20)
        img = QImage(int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_ARGB32)
        img.fill(QColor("white"))
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.scene().render(painter, QRectF(img.rect()), rect)
        painter.end()
        if not img.save(path, "PNG"):
            raise OSError(f"cannot write {path}")

    def export_svg(self, path: str) -> None:
        from PySide6.QtSvg import QSvgGenerator

        rect = self.scene().itemsBoundingRect().adjusted(-20, -20, 20, 20)
        gen = QSvgGenerator()
        gen.setFileName(path)
        gen.setSize(rect.size().toSize())
        gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        gen.setTitle(getattr(self.cascade, "name", "cascade"))
        painter = QPainter(gen)
        self.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        painter.end()


ROLE_LABELS = {CALIBRATION: "calibration task", SCIENCE: "science task", DATA_SOURCE: "data source"}
# what "partial" means in the legend (the other states are job states)
STATE_LABELS = {"partial": "partly done"}


def display_state(counts: Counter, state: str | None) -> str | None:
    """The state a task is drawn in: a task whose jobs all finished, apart from incomplete
    ones the organiser could not make (missing calibrations), is done, not "incomplete"."""
    if state == "incomplete":
        active = sum(counts.get(s, 0) for s in ("running", "queued", "waiting", "failed", "cancelled", "stale"))
        if not active and counts.get("done"):
            return "done"
        if not active and counts.get("reused"):
            return "reused"
    return state


def legend_entries() -> list[tuple[str, str, str]]:
    """(group, label, colour) of everything the view colours: roles, outside the target,
    task states during a run. Edges and breakpoints are drawn by :class:`CascadeLegend`."""
    out = [("Roles", ROLE_LABELS[r], ROLE_COLOURS[r]) for r in (CALIBRATION, SCIENCE, DATA_SOURCE)]
    out.append(("Roles", "outside the target", GREY))
    out += [("States", STATE_LABELS.get(s, s), c) for s, c in STATE_COLOURS.items()]
    out.append(("States", "paused here", PAUSED_COLOUR))
    return out


class _EdgeSample(QWidget):
    def __init__(self, style: Qt.PenStyle, colour: str, width: float, parent=None) -> None:
        super().__init__(parent)
        self.style, self.colour, self.width = style, colour, width
        self.setFixedSize(28, 12)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        pen = QPen(QColor(self.colour))
        pen.setWidthF(self.width)
        pen.setStyle(self.style)
        p.setPen(pen)
        p.drawLine(2, 6, 26, 6)
        p.end()


class CascadeLegend(QFrame):
    """Two rows under the cascade view (object name ``cascadeLegend``): task roles, the two
    edge styles and the breakpoint border; task states with their colours."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("cascadeLegend")
        self.swatches: dict[str, QLabel] = {}
        small = QFont()
        small.setPointSizeF(MIN_LABEL_PT)
        rows: dict[str, QHBoxLayout] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 1, 4, 1)
        outer.setSpacing(1)

        def text(label: str, row: QHBoxLayout) -> None:
            t = QLabel(label, self)
            t.setFont(small)
            row.addWidget(t)
            row.addSpacing(6)

        heads: list[QLabel] = []
        for group in ("Roles", "States"):
            row = QHBoxLayout()
            row.setSpacing(3)
            head = QLabel(f"<b>{group}</b>", self)
            head.setFont(small)
            heads.append(head)
            row.addWidget(head)
            rows[group] = row
            outer.addLayout(row)
        for group, label, colour in legend_entries():
            sw = QLabel(self)
            sw.setFixedSize(12, 12)
            sw.setStyleSheet(f"background: {colour}; border: 1px solid #555;")
            sw.setToolTip(label)
            rows[group].addWidget(sw)
            glyph = STATE_GLYPHS.get(next((k for k, v in STATE_LABELS.items() if v == label), label), "")
            if group == "Roles":
                glyph = next((ROLE_GLYPHS[r] for r, lab in ROLE_LABELS.items() if lab == label), "")
            text(f"{glyph} {label}".strip(), rows[group])
            self.swatches[label] = sw
        roles = rows["Roles"]
        for label, style, colour, width in (("main input", Qt.PenStyle.SolidLine, "#333", 2.0),
                                            ("associated input", Qt.PenStyle.DashLine, "#777", 1.2)):
            roles.addWidget(_EdgeSample(style, colour, width, self))
            text(label, roles)
        bp = QLabel(self)
        bp.setFixedSize(12, 12)
        bp.setStyleSheet("border: 2px solid #c33;")
        roles.addWidget(bp)
        text("breakpoint", roles)
        for row in rows.values():
            row.addStretch(1)
        width = max(h.sizeHint().width() for h in heads)
        for h in heads:  # the swatches of both rows start at the same x
            h.setFixedWidth(width)

    def colour_of(self, label: str) -> str:
        """The swatch colour shown for ``label`` (tests, accessibility)."""
        ss = self.swatches[label].styleSheet()
        return ss.split("background:")[1].split(";")[0].strip()
