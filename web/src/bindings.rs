//! wasm-bindgen exports: `listExamples`, `runExample`, and the TypeScript types they return.

use amphi::examples::{self, Report};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** One example amphi can run. */
export interface ExampleInfo { name: string; summary: string }
/** A named check an example makes about its own result. */
export interface Check { name: string; ok: boolean; detail: string }
/** The outcome of one example run (the same object as `amphi run NAME --json`). */
export interface Report {
  example: string;
  /** True when the example finished and every check held. */
  ok: boolean;
  checks: Check[];
  output: string[];
  error: string | null;
  elapsed_ms: number;
}
"#;

/// The examples this build can run, in a stable order.
#[wasm_bindgen(js_name = listExamples, unchecked_return_type = "ExampleInfo[]")]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn list_examples() -> JsValue {
    let list: Vec<_> = examples::list()
        .iter()
        .map(|e| serde_json::json!({ "name": e.name, "summary": e.summary }))
        .collect();
    to_js(&list)
}

/// Runs the example `name` on an amphi thread (a Web Worker) and resolves to its report.
/// Never rejects: a failure to start (for instance a page that is not cross-origin isolated)
/// is a report with `ok: false` and the reason in `error`.
#[wasm_bindgen(js_name = runExample, unchecked_return_type = "Promise<Report>")]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn run_example(name: String) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let started = amphi::thread::Builder::new()
            .name(format!("example {name}"))
            .spawn({
                let name = name.clone();
                move || examples::run(&name, &Default::default())
            });
        let outcome = match started {
            Ok(thread) => thread.join_async().await,
            Err(error) => Err(error),
        };
        let report = outcome.unwrap_or_else(|error| Report {
            example: name,
            ok: false,
            checks: Vec::new(),
            output: Vec::new(),
            error: Some(error.to_string()),
            elapsed_ms: 0.0,
        });
        Ok(to_js(&report))
    })
}

fn to_js(value: &impl serde::Serialize) -> JsValue {
    let text = serde_json::to_string(value).expect("reports always serialise");
    js_sys::JSON::parse(&text).expect("serde_json writes valid JSON")
}
