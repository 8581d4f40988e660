# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lines of code of a Python file, as docs/architecture.md counts them.

Blank lines, comments, docstrings and strings assigned to a name (DOCUMENTATION, EXAMPLES, RETURN, a page template)
do not count. Run it as a script to list the largest files: ``python tests/unit/architecture/code_size.py plugins``.
"""

from __future__ import annotations

import ast
import io
import os
import sys
import tokenize

LIMIT = 400


def _excluded_lines(tree):
    lines = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant) and \
                isinstance(node.value.value, str):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def code_lines(source):
    """How many lines of ``source`` hold code."""
    excluded = _excluded_lines(ast.parse(source))
    counted = set()
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER,
            tokenize.ENCODING)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in skip:
            continue
        for line in range(token.start[0], token.end[0] + 1):
            if line not in excluded:
                counted.add(line)
    return len(counted)


def python_files(root):
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def sizes(root):
    """``{path: lines of code}`` of every Python file below ``root``."""
    result = {}
    for path in python_files(root):
        with open(path, encoding="utf-8") as handle:
            result[path] = code_lines(handle.read())
    return result


if __name__ == "__main__":
    for path, count in sorted(sizes(sys.argv[1] if len(sys.argv) > 1 else "plugins").items(), key=lambda i: -i[1])[:25]:
        print("%5d %s%s" % (count, path, "  (over %d)" % LIMIT if count > LIMIT else ""))
