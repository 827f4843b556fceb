"""The codebase stays navigable: small library modules and functions, scripts that only
parse flags and call the library, no script importing another script."""
import ast

import pytest

from facecascade.paths import REPO_ROOT

LIB = REPO_ROOT / "lib" / "facecascade"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 80
SCRIPT_FOLDERS = ("0_raw_data", "1_level_1", "2_level_2", "3_demo", "mtcnn")


def library_modules():
    return sorted(LIB.rglob("*.py"))


def scripts():
    return sorted(p for d in SCRIPT_FOLDERS for p in (REPO_ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("path", library_modules(), ids=lambda p: str(p.relative_to(LIB)))
def test_library_modules_and_functions_are_small(path):
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{path}: split it (one concern per module)"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == [], f"{path}: functions over {MAX_FUNCTION_LINES} lines"


def test_no_script_imports_another_script():
    offenders = []
    for script in scripts():
        siblings = {p.stem for p in script.parent.glob("*.py") if p != script}
        for node in ast.walk(ast.parse(script.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            offenders += [f"{script.relative_to(REPO_ROOT)} imports {n}" for n in names if n.split(".")[0] in siblings]
        if "runpy" in script.read_text():
            offenders.append(f"{script.relative_to(REPO_ROOT)} runs another script (runpy)")
    assert offenders == []
