#!/usr/bin/env python3
"""Runs the README walkthrough, exactly as written, against a fresh `govmedia dev --demo`.

The block between `<!-- walkthrough:begin -->` and `<!-- walkthrough:end -->` is split into
commands (backslash continuations and multi-line quotes joined, as bash does). A command must
succeed, unless its `# expect:` line names a gRPC code (`Code: X`), in which case it must fail
with that code. Every `# expect:` text must appear in the command's output. All commands run in
one bash process, so variables carry over like in a terminal. Then SIGTERM must stop the server
cleanly.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "govmedia")


def walkthrough():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    match = re.search(r"<!-- walkthrough:begin -->\s*```sh\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S)
    if not match:
        sys.exit("README.md has no walkthrough block")
    commands, expect, buffer = [], [], ""
    for line in match.group(1).splitlines():
        if not buffer:
            stripped = line.strip()
            if stripped.startswith("# expect:"):
                expect.append(stripped[len("# expect:"):].strip())
                continue
            if not stripped or stripped.startswith("#"):
                continue
        buffer += line + "\n"
        if buffer.endswith("\\\n"):
            continue
        try:
            shlex.split(buffer)  # complete only when every quote is closed
        except ValueError:
            continue
        commands.append((buffer.strip(), expect))
        buffer, expect = "", []
    if buffer:
        sys.exit(f"unterminated command in the walkthrough: {buffer!r}")
    return commands


def wait_ready(log_path, process, limit=120):
    deadline = time.time() + limit
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit("govmedia dev exited early:\n" + open(log_path).read())
        if "govmedia dev is running" in open(log_path, encoding="utf-8", errors="replace").read():
            return
        time.sleep(0.2)
    sys.exit("govmedia dev did not become ready:\n" + open(log_path).read())


def main():
    commands = walkthrough()
    # The walkthrough's commands use the default data directory, as a reader's would.
    data_dir = os.path.join(ROOT, "data")
    if os.path.exists(data_dir):
        sys.exit(f"{data_dir} exists; the walkthrough needs a fresh one (move it away first)")
    log_path = os.path.join(tempfile.mkdtemp(prefix="govmedia-smoke-"), "dev.log")
    with open(log_path, "w") as log:
        server = subprocess.Popen([BINARY, "dev", "--demo"], cwd=ROOT, stdout=log, stderr=log)
    try:
        wait_ready(log_path, server)
        shell = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=ROOT, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        failures = 0
        for index, (command, expect) in enumerate(commands, 1):
            marker = f"__SMOKE_DONE_{index}__"
            # Output may not end with a newline (curl's JSON): start the marker on a line of its own.
            shell.stdin.write(f"{command}\n__status=$?; echo; echo \"{marker} $__status\"\n")
            shell.stdin.flush()
            output = []
            while True:
                line = shell.stdout.readline()
                if not line:
                    sys.exit("the shell died")
                if line.startswith(marker):
                    status = int(line.split()[1])
                    break
                output.append(line)
            output = "".join(output)
            codes = [e[len("Code:"):].strip() for e in expect if e.startswith("Code:")]
            problems = []
            if codes:
                if status == 0:
                    problems.append(f"expected to fail with {codes[0]} but succeeded")
            elif status != 0:
                problems.append(f"exit status {status}")
            problems += [f"output lacks {e!r}" for e in expect if e not in output]
            title = command.splitlines()[0][:100]
            if problems:
                failures += 1
                print(f"FAIL {index}: {title}\n  " + "\n  ".join(problems) + "\n" + output)
            else:
                print(f"ok   {index}: {title}")
        shell.stdin.close()
        shell.wait()
        print(f"{len(commands) - failures} passed, {failures} failed")
        if failures:
            print(open(log_path).read()[-4000:])
            sys.exit(1)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            code = "killed: no exit within 20 s of SIGTERM"
        shutil.rmtree(data_dir, ignore_errors=True)
    if code != 0:
        sys.exit(f"govmedia dev exited with {code} after SIGTERM:\n" + open(log_path).read()[-4000:])
    print("govmedia dev stopped cleanly on SIGTERM")


if __name__ == "__main__":
    main()
