"""Export an executed notebook to one HTML page that works offline: the one export function behind
`npm run export` (scripts/course/export.mjs) and `npm run course` (scripts/course/execute.py).

Built on nbconvert's HTMLExporter with the template in scripts/course/nbconvert/rnnlab/ and one preprocessor,
RnnLabFigures, which
  - drops the outputs that carried plotly.js into the live notebook ("the loader", see loadPlotly in
    src/display.ts): it may be missing (cleared, re-run, deleted) or in any cell, so the page never
    relies on it;
  - renders every output that has plotly's JSON (application/vnd.plotly.v1+json) as a figure
    container drawn from that JSON, whatever HTML the kernel sent with it;
  - gives the template plotly.js (inlined once, only when there is a figure) and MathJax.

MathJax: mathjax='inline' puts MathJax 3's tex-svg-full.js into the page (one self-contained file: SVG
output needs no font files, and "full" has every TeX extension, so nothing is fetched on demand);
mathjax='beside' loads mathjax/tex-chtml.js from a folder next to the page (the course site shares one
copy among its pages; scripts/lib/jupyter.mjs copyMathJax writes it).

    python3 nbexport.py [--mathjax inline|beside] NOTEBOOK.ipynb OUT.html

prints one JSON line {"figures": n, "figure_cells": [...], "legacy_figures": n, "loaders": n,
"title": "...", "bytes": n} on success (figure_cells: the cell index of each figure drawn; legacy_figures:
figure HTML saved without plotly JSON, before figures carried it; it draws itself with the page's
plotly.js; title: the page's <title>, see page_title).
"""
import argparse
import json
import os
import re
import sys

from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'lib'))
from files import write_atomic  # scripts/lib/files.py, shared with execute.py and grade.py  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
PLOTLY_MIME = 'application/vnd.plotly.v1+json'
# The npm package of src/display.ts PLOTLY_BUNDLE, and its file.
PLOTLY_JS = os.path.join(ROOT, 'node_modules', 'plotly.js-cartesian-dist-min', 'plotly-cartesian.min.js')
MATHJAX_INLINE = os.path.join(ROOT, 'node_modules', 'mathjax', 'es5', 'tex-svg-full.js')
# The header comment every plotly.js bundle starts with: "plotly.js (cartesian - minified) v2.35.3".
BUNDLE_HEADER = re.compile(r'plotly\.js \([a-z -]+\) v\d+\.\d+\.\d+')
MATHJAX_MODES = ('inline', 'beside')


def script_safe(code):
    """Library code made safe inside an inline <script>: no '</script' (it would end the script early)
    and no '<!--' (with a later '<script' it would switch the HTML parser into a state where the
    closing tag no longer ends the script). Both escapes mean the same in a JS string and in a regular
    expression literal; a blanket '</' → '<\\/' would not (MathJax has the regex /</g)."""
    return re.sub(r'</(script)', r'<\\/\1', code, flags=re.IGNORECASE).replace('<!--', '<\\!--')


def json_in_script(value):
    """JSON for an inline <script>: '<', '>', '&' and the JS line separators as \\u escapes (they can
    only occur inside JSON strings, where the escape means the same character)."""
    text = json.dumps(value, ensure_ascii=False, separators=(',', ':'))
    for ch, esc in (('<', '\\u003c'), ('>', '\\u003e'), ('&', '\\u0026'), ('\u2028', '\\u2028'), ('\u2029', '\\u2029')):
        text = text.replace(ch, esc)
    return text


def escape_html(text):
    return str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')


def _text(value):
    return ''.join(value) if isinstance(value, list) else (value if isinstance(value, str) else '')


def is_loader(output):
    """Whether an output only carried plotly.js: marked by the kernel (rnn_lab.plotly_js, or
    rnn_lab.plotly_js_moved for the stub left where it was superseded), or, in notebooks saved before
    the mark existed, a text/html <script> that starts with the bundle's header comment."""
    meta = (output.get('metadata') or {}).get('rnn_lab') or {}
    if isinstance(meta, dict) and (meta.get('plotly_js') or meta.get('plotly_js_moved')):
        return True
    html = _text((output.get('data') or {}).get('text/html')).lstrip()
    # The header is within the first few hundred characters (after the wrapper that shadows define).
    return html.startswith('<script') and bool(BUNDLE_HEADER.search(html[:1000]))


def _title(layout):
    title = layout.get('title') if isinstance(layout, dict) else None
    text = title.get('text') if isinstance(title, dict) else title
    return str(text) if isinstance(text, (str, int, float)) and str(text) else None


HEADING = re.compile(r'^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$')
SETEXT = re.compile(r'^ {0,3}(=+|-+)[ \t]*$')


def page_title(nb, fallback):
    """The page's title (and so the PDF's): the notebook's metadata.title if set (nbconvert's rule),
    else the text of the first markdown heading (ATX `# Title` or setext `Title` over `===`), else
    `fallback` (the file name). Inline markup is dropped: `*`, `_` and backticks around words."""
    explicit = (nb.get('metadata') or {}).get('title')
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()
    for cell in nb.cells:
        if cell.get('cell_type') != 'markdown':
            continue
        lines = _text(cell.get('source')).splitlines()
        fence = False
        for k, line in enumerate(lines):
            if re.match(r'^ {0,3}(```|~~~)', line):
                fence = not fence
            if fence:
                continue
            m = HEADING.match(line)
            text = m.group(1) if m else None
            if text is None and line.strip() and k + 1 < len(lines) and SETEXT.match(lines[k + 1]) \
                    and lines[k + 1].strip()[0] == '=':
                text = line.strip()
            if text:
                text = re.sub(r'(\*\*|__|\*|`)(.+?)\1', r'\2', text).strip()
                if text:
                    return text
    return fallback


def figure_html(figure, number, cell):
    """A figure container (<div class="rnnlab-plot">) and the script that draws it from plotly's JSON.
    The placeholder line stays until plotly has drawn, and says why if it cannot (no JavaScript,
    plotly.js missing, plotly's error). Returns None when the JSON is not a figure."""
    if not isinstance(figure, dict) or not isinstance(figure.get('data'), list):
        return None
    layout = figure.get('layout') if isinstance(figure.get('layout'), dict) else {}
    config = figure.get('config') if isinstance(figure.get('config'), dict) else {}
    height = layout.get('height') if isinstance(layout.get('height'), (int, float)) and not isinstance(layout.get('height'), bool) else 420
    title = _title(layout)
    name = f'figure {number}' + (f' “{title}”' if title else '')
    el_id = f'rnnlab-figure-{number}'
    note = f'Interactive plotly figure{f" “{title}”" if title else ""}: it is drawn by JavaScript, which has not run in this view.'
    return (
        f'<div id="{el_id}" class="rnnlab-plot" data-rnnlab-figure="{escape_html(name)}" data-rnnlab-cell="{cell}" '
        f'style="width:100%;height:{height}px">'
        '<div class="rnnlab-plot-placeholder" style="padding:12px;color:#555;font-style:italic;border:1px dashed #bbb">'
        f'{escape_html(note)}</div></div>\n'
        '<script type="text/javascript">(function(){'
        f'var el=document.getElementById({json_in_script(el_id)});if(!el)return;'
        'var note=el.querySelector(".rnnlab-plot-placeholder");'
        # A failure stays visible in the placeholder and is marked for scripts/course/export.mjs --pdf.
        'function fail(e){var m=String(e&&e.message||e);el.setAttribute("data-rnnlab-error",m);'
        f'note.textContent="plotly could not draw "+{json_in_script(name)}+": "+m;console.error(e);}}'
        'if(!window.Plotly){fail("plotly.js is missing from this page");return;}'
        f'try{{window.Plotly.newPlot(el,{json_in_script(figure["data"])},{json_in_script(layout)},{json_in_script(config)})'
        '.then(function(){if(note.parentNode)note.parentNode.removeChild(note);},fail);}catch(e){fail(e);}'
        '})();</script>'
    )


class RnnLabFigures(Preprocessor):
    """Drop plotly.js loader outputs, draw every figure from its plotly JSON, and hand the template
    plotly.js and MathJax (resources['rnnlab'])."""

    mathjax = Unicode('inline', help="'inline' (MathJax in the page) or 'beside' (mathjax/ next to the page)").tag(config=True)

    def preprocess(self, nb, resources):
        if self.mathjax not in MATHJAX_MODES:
            raise ValueError(f'RnnLabFigures: mathjax must be one of {MATHJAX_MODES}; got {self.mathjax!r}')
        figures = loaders = legacy = 0
        figure_cells = []
        for index, cell in enumerate(nb.cells):
            if cell.get('cell_type') != 'code':
                continue
            kept = []
            for output in cell.get('outputs', []):
                if is_loader(output):
                    loaders += 1
                    continue
                data = output.get('data') or {}
                if PLOTLY_MIME in data:
                    html = figure_html(data[PLOTLY_MIME], figures + 1, index)
                    if html is not None:
                        figures += 1
                        figure_cells.append(index)
                        # Only the container: the kernel's own HTML for it expects a loader on the page.
                        output['data'] = {'text/html': html, 'text/plain': _text(data.get('text/plain'))}
                elif 'class="rnnlab-plot"' in _text(data.get('text/html')):
                    # A figure saved before figures carried plotly JSON: its own script draws it with
                    # the plotly.js of the page.
                    legacy += 1
                kept.append(output)
            cell['outputs'] = kept
        # nbconvert's lab template titles the page with metadata.title (else the file name).
        nb.metadata['title'] = page_title(nb, (resources.get('metadata') or {}).get('name') or 'notebook')
        info = {'figures': figures, 'figure_cells': figure_cells, 'title': nb.metadata['title'], 'legacy_figures': legacy, 'loaders': loaders, 'mathjax': self.mathjax,
                'plotly_js': '', 'mathjax_js': ''}
        if figures or legacy:
            if not os.path.exists(PLOTLY_JS):
                raise FileNotFoundError(f'the plotly.js bundle {PLOTLY_JS} is missing: run `npm install` in {ROOT}')
            with open(PLOTLY_JS, encoding='utf-8') as f:
                # The same wrapper as src/display.ts plotlyScript: the UMD bundle takes its global branch.
                info['plotly_js'] = '(function(define, module, exports){\n' + script_safe(f.read()) + '\n}).call(window);'
        if self.mathjax == 'inline':
            if not os.path.exists(MATHJAX_INLINE):
                raise FileNotFoundError(f'MathJax ({MATHJAX_INLINE}) is missing: run `npm install` in {ROOT}')
            with open(MATHJAX_INLINE, encoding='utf-8') as f:
                info['mathjax_js'] = script_safe(f.read())
        resources['rnnlab'] = info
        return nb, resources


def export_html(nb, out_html, mathjax='inline', name=None):
    """Write the page of notebook `nb` (an nbformat node, already executed) to out_html, atomically.
    Returns {'figures', 'figure_cells', 'legacy_figures', 'loaders', 'title', 'bytes'}. The caller decides beforehand whether a file at out_html
    may be replaced (the page carries <meta name="generator" content="rnn-lab course">)."""
    from nbconvert import HTMLExporter
    if mathjax not in MATHJAX_MODES:
        raise ValueError(f'export_html: mathjax must be one of {MATHJAX_MODES}; got {mathjax!r}')
    exporter = HTMLExporter(extra_template_basedirs=[os.path.join(HERE, 'nbconvert')], template_name='rnnlab')
    exporter.register_preprocessor(RnnLabFigures(mathjax=mathjax), enabled=True)
    name = name or os.path.splitext(os.path.basename(out_html))[0]
    body, resources = exporter.from_notebook_node(nb, resources={'metadata': {'name': name}})
    write_atomic(out_html, body)
    info = resources['rnnlab']
    return {'figures': info['figures'], 'figure_cells': info['figure_cells'], 'legacy_figures': info['legacy_figures'],
            'loaders': info['loaders'], 'title': info['title'], 'bytes': len(body.encode('utf-8'))}


def main():
    import nbformat
    ap = argparse.ArgumentParser(description='Export an executed notebook to one offline HTML page.')
    ap.add_argument('notebook')
    ap.add_argument('out')
    ap.add_argument('--mathjax', choices=MATHJAX_MODES, default='inline')
    a = ap.parse_args()
    try:
        nb = nbformat.read(a.notebook, as_version=4)
    except Exception as e:  # not JSON, not a notebook: the message names the file
        print(f'{a.notebook} could not be read as a notebook: {type(e).__name__}: {e}', file=sys.stderr)
        return 2
    name = os.path.splitext(os.path.basename(a.notebook))[0]
    try:
        info = export_html(nb, a.out, mathjax=a.mathjax, name=name)
    except (OSError, ValueError) as e:  # a missing npm package, an unwritable folder: the message says which
        print(f'{a.notebook}: {e}', file=sys.stderr)
        return 2
    print(json.dumps(info))
    return 0


if __name__ == '__main__':
    sys.exit(main())
