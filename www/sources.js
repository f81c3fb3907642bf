// The sources panels of the amphi page: the chosen example's Rust source and the Python original
// it translates, side by side under its output. app.js calls showSources(name) when an example is
// chosen or run (after init() has loaded the module).

import { exampleSources } from './pkg/amphi.js';

const $ = (id) => document.getElementById(id);

/** Fills #rust-source and #python-source with the sources of the example `name`. */
export function showSources(name) {
  const panels = $('sources');
  let sources;
  try {
    sources = exampleSources(name);
  } catch {
    // An unknown name: its run reports the error; there are no sources to show.
    panels.hidden = true;
    return;
  }
  $('rust-source').textContent = sources.rust;
  const python = $('python-source');
  python.textContent = sources.python ?? 'no Python original (no seed has code for this example)';
  python.classList.toggle('missing', sources.python === null);
  panels.dataset.example = name;
  panels.hidden = false;
}
