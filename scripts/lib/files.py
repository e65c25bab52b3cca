"""Writing files whole or not at all, for the Python scripts (scripts/course/nbexport.py, execute.py,
scripts/homework/grade.py). The Python side of the library's writeFileAtomic (src/files.ts, which the Node
scripts use through scripts/lib/jupyter.mjs libFiles()): the same write-fsync-rename pattern, so a reader
(the course site, the grader waiting for a report) sees the old file or the new one, never half a file.

Each script puts this folder on sys.path:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lib'))
"""
import os
import secrets


def _fsync_dir(folder):
    # Makes the rename durable. Best effort: some platforms (Windows) cannot open a folder for fsync.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, text):
    """Write text (UTF-8) to path whole or not at all: a temp file in the same folder (so the rename never
    crosses file systems), fsync, rename over path, fsync the folder. A crash leaves the old file; on an
    error the temp file is removed and the error raised."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, '.%s.%d-%s.tmp' % (os.path.basename(path), os.getpid(), secrets.token_hex(4)))
    try:
        with open(tmp, 'x', encoding='utf-8') as f:  # x: never reuse a file already there
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    _fsync_dir(folder)
