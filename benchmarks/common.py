"""What several benchmarks share: a throwaway data folder and generated English and Chinese text."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_home(prefix: str) -> Iterator[Path]:
    """A temporary work folder; ``INGLENOOK_HOME`` points at its ``home/`` while it exists, then is restored.

    A benchmark never touches the user's data.
    """
    work = Path(tempfile.mkdtemp(prefix=prefix))
    before = os.environ.get("INGLENOOK_HOME")
    os.environ["INGLENOOK_HOME"] = str(work / "home")
    try:
        yield work
    finally:
        if before is None:
            os.environ.pop("INGLENOOK_HOME", None)
        else:
            os.environ["INGLENOOK_HOME"] = before
        shutil.rmtree(work, ignore_errors=True)


_EN_SUBJECTS = ["The maintenance team", "Our supplier", "The new firmware", "Each department", "The project board",
                "A field engineer", "The finance office", "The night shift", "The customer portal", "This release"]
_EN_VERBS = ["reviews", "replaces", "documents", "measures", "schedules", "approves", "tests", "archives",
             "monitors", "updates"]
_EN_OBJECTS = ["the pump inventory", "every safety inspection", "the quarterly budget", "the backup routine",
               "all incoming invoices", "the warehouse layout", "the delivery routes", "the training records",
               "the cooling system", "the access badges", "the sensor calibration", "the holiday rota"]
_EN_TAILS = ["before the end of the month.", "according to the new procedure.", "with help from the regional office.",
             "after every software upgrade.", "so that nothing is lost during the move.",
             "and reports any deviation within two days.", "using the checklist in appendix B.",
             "whenever the temperature rises above forty degrees."]
_ZH_SUBJECTS = ["维修部门", "供应商", "新版固件", "各部门", "项目委员会", "现场工程师", "财务部", "夜班人员", "客户门户", "本次发布"]
_ZH_VERBS = ["负责检查", "定期更新", "详细记录", "重新评估", "统一安排", "严格审批", "全面测试", "妥善归档"]
_ZH_OBJECTS = ["水泵库存", "每一次安全检查", "季度预算", "备份流程", "所有收到的发票", "仓库布局", "配送路线",
               "培训记录", "冷却系统", "门禁卡", "传感器校准", "值班表"]
_ZH_TAILS = ["并在月底前完成。", "按照新的流程执行。", "在区域办公室的协助下进行。", "每次软件升级后都要重复。",
             "确保搬迁期间不会丢失任何资料。", "发现异常须在两天内报告。", "具体要求见附录二。"]


def en_paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(f"{rng.choice(_EN_SUBJECTS)} {rng.choice(_EN_VERBS)} {rng.choice(_EN_OBJECTS)} "
                    f"{rng.choice(_EN_TAILS)}" for _ in range(sentences))


def zh_paragraph(rng: random.Random, sentences: int) -> str:
    return "".join(f"{rng.choice(_ZH_SUBJECTS)}{rng.choice(_ZH_VERBS)}{rng.choice(_ZH_OBJECTS)}，{rng.choice(_ZH_TAILS)}"
                   for _ in range(sentences))
