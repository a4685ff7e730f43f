"""Settings → Calibrate to your customers: propose, show, apply and revert, administrators only."""

from __future__ import annotations

import numpy as np
from fixture_files import add_records
from gui_helpers import wait_idle
from PySide6.QtGui import QImage

from sigverify.core.security import AuditLog, open_store


def bank_history(db_url, forged=320):
    store = open_store(db_url)
    rng = np.random.default_rng(3)
    add_records(store, rng.normal(0.8, 0.05, 400), "accept", "admin")
    add_records(store, rng.normal(0.3, 0.1, forged), "reject", "admin")
    return store


def test_propose_apply_revert_with_charts(qtbot, db_url, window):
    store = bank_history(db_url)
    page = window.pages["settings"]
    panel = page.calibration
    model_accept = window.context.session.thresholds().accept
    assert not panel.apply_button.isEnabled()  # nothing proposed yet
    panel.compute_button.click()
    wait_idle(qtbot, window)
    proposal = panel.proposal.calibration.overall
    assert proposal.genuine == 400 and proposal.forged == 320 and proposal.accept.proposed
    assert "of 320 forgeries would match" in panel.report.toPlainText()
    assert sum(panel.histogram.curves.forged_counts) == 320 and panel.det.curves.det_far
    image = QImage(panel.histogram.size(), QImage.Format.Format_RGB32)
    panel.histogram.render(image)  # both classes drawn, in their colours
    pixels = [image.pixelColor(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)]
    assert sum(p.green() > p.red() + 30 for p in pixels) > 50 and sum(p.red() > p.green() + 30 for p in pixels) > 50
    assert window.context.session.thresholds().accept == model_accept  # computing changed nothing

    panel.apply_button.click()
    wait_idle(qtbot, window)
    assert window.context.session.thresholds().accept == proposal.proposed.accept
    assert page.accept.value() == round(proposal.proposed.accept, 3)  # the thresholds box follows
    assert "in force" in panel.status.text()
    assert [r.action for r in AuditLog(store).records(actions=("apply_calibration",))] == ["apply_calibration"]

    panel.revert_button.click()
    wait_idle(qtbot, window)
    assert window.context.session.thresholds().accept == model_accept
    assert "No calibration in force" in panel.status.text()


def test_too_few_forgeries_leave_nothing_to_apply(qtbot, db_url, window):
    bank_history(db_url, forged=40)
    panel = window.pages["settings"].calibration
    panel.compute_button.click()
    wait_idle(qtbot, window)
    assert "REFUSED, 40 forgeries: at least 299" in panel.report.toPlainText()
    assert panel.apply_button.isEnabled()  # the genuine side is still proposed
    assert panel.proposal.calibration.overall.proposed.accept == window.context.session.thresholds().accept


def test_clerks_cannot_calibrate(qtbot, make_window, clerk, db_url):
    bank_history(db_url)
    panel = make_window(user=clerk).pages["settings"].calibration
    assert not panel.compute_button.isEnabled() and not panel.revert_button.isEnabled()
    assert "Only administrators" in panel.status.text()


def test_the_label_policy_is_set_from_the_panel_and_audited(qtbot, db_url, window):
    store = open_store(db_url)
    add_records(store, [0.9] * 5, "accept", "clerk-anna")  # a clerk's own decisions
    panel = window.pages["settings"].calibration
    wait_idle(qtbot, window)
    assert panel.policy.currentData() == "supervisor"
    panel.compute_button.click()
    wait_idle(qtbot, window)
    assert "no labelled verification" in panel.status.text()  # a clerk's decision is no label by default
    panel.policy.setCurrentIndex(panel.policy.findData("clerk"))
    panel.policy.activated.emit(panel.policy.currentIndex())
    wait_idle(qtbot, window)
    [record] = AuditLog(store).records(actions=("set_calibration_label_policy",))
    assert record.details == {"policy": "clerk", "previous": "supervisor"} and record.user == "admin"
    panel.compute_button.click()
    wait_idle(qtbot, window)
    assert panel.proposal.calibration.overall.genuine == 5
