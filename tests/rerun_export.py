"""Run a lesson in one course-kernel session as a student would, re-running cells, then save and export it.

Run by tests/figures.test.mjs: `python3 tests/rerun_export.py NOTEBOOK OUTDIR` with JUPYTER_PATH set so
the kernel is found. In one kernel: every cell in order; then the cells that hold plotly.js; then every
figure cell, last to first; then the first figure cell again. Writes OUTDIR/<name>.ipynb (the saved
notebook) and OUTDIR/<name>.html, made by nbconvert's default HTML exporter (`jupyter nbconvert --to
html`, template 'lab'), and prints a JSON report (last line).
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

PLOTLY = 'application/vnd.plotly.v1+json'
BUNDLE_HEADER = 'plotly.js (cartesian'


def holds_plotly(out):
    return bool(out.get('metadata', {}).get('rnn_lab', {}).get('plotly_js')) or \
        BUNDLE_HEADER in str(out.get('data', {}).get('text/html', ''))


def figure_cells(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == 'code'
            and any(PLOTLY in o.get('data', {}) for o in c.get('outputs', []))]


def holder_cells(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == 'code' and any(holds_plotly(o) for o in c.get('outputs', []))]


def copies(nb):
    return sum(holds_plotly(o) for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []))


def main():
    path, outdir = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name='rnn-lab', timeout=300, allow_errors=False,
                            resources={'metadata': {'path': os.path.dirname(os.path.abspath(path))}})
    runs = []
    t0 = time.time()
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        first_holders = holder_cells(nb)
        figs = figure_cells(nb)
        order = first_holders + list(reversed(figs)) + figs[:1]
        for i in order:
            client.execute_cell(nb.cells[i], i)
            runs.append({'cell': i, 'copies': copies(nb), 'holders': holder_cells(nb)})
    name = os.path.splitext(os.path.basename(path))[0]
    os.makedirs(outdir, exist_ok=True)
    saved = os.path.join(outdir, name + '.ipynb')
    nbformat.write(nb, saved)
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(saved, as_version=4))
    page = os.path.join(outdir, name + '.html')
    with open(page, 'w', encoding='utf-8') as f:
        f.write(body)
    figures = sum(PLOTLY in o.get('data', {}) for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []))
    print(json.dumps({'notebook': path, 'saved': saved, 'page': page, 'bytes': os.path.getsize(saved),
                      'figures': figures, 'figure_cells': figs, 'first_holders': first_holders,
                      'holders': holder_cells(nb), 'copies': copies(nb), 'reruns': runs,
                      'seconds': round(time.time() - t0, 1)}))


if __name__ == '__main__':
    main()
