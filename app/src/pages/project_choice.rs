//! The token form's project choice: every project of the owner, or only
//! the ticked ones (a restricted token). Posts `reach` (`all` or
//! `selected`) and `project_ids[]`. `current` preselects a token's
//! restriction (the token page's edit form).

use leptos::prelude::*;

use crate::rpc::projects::list_projects;

#[component]
pub fn ProjectChoice(
    #[prop(into)] error: Signal<Option<String>>,
    /// The projects already chosen; `None`: all projects.
    #[prop(default = None)]
    current: Option<Vec<String>>,
) -> impl IntoView {
    let projects = Resource::new(|| (), |_| list_projects());
    let restricted = current.is_some();
    let chosen = current.unwrap_or_default();
    view! {
        <fieldset>
            <legend class="text-sm font-medium">"Projects"</legend>
            <div class="mt-2 grid gap-2 text-sm">
                <label class="flex items-center gap-2">
                    <input type="radio" name="reach" value="all" checked=!restricted/>
                    "All projects, including ones created later"
                </label>
                <label class="flex items-center gap-2">
                    <input type="radio" name="reach" value="selected" checked=restricted/>
                    "Only these projects:"
                </label>
                <Transition fallback=|| ()>
                    {move || { let chosen = chosen.clone(); Suspend::new(async move {
                        match projects.await {
                            Ok(list) if !list.is_empty() => view! {
                                <div class="ml-6 grid gap-1">
                                    {list
                                        .into_iter()
                                        .map(|p| view! {
                                            <label class="flex items-center gap-2">
                                                <input type="checkbox" name="project_ids[]" value=p.id.clone() checked=chosen.contains(&p.id)/>
                                                {p.name.clone()}
                                            </label>
                                        })
                                        .collect::<Vec<_>>()}
                                </div>
                            }
                            .into_any(),
                            Ok(_) => view! { <p class="ml-6 text-xs text-slate-500">"No projects yet."</p> }.into_any(),
                            Err(e) => view! { <p class="ml-6 text-xs text-red-700">{e.to_string()}</p> }.into_any(),
                        }
                    })}}
                </Transition>
            </div>
            <p class="mt-1 text-xs text-slate-500">
                "A limited token sees only these projects and their tasks and work logs; other projects answer 403."
            </p>
            <p class="mt-1 text-sm text-red-700" data-error-for="projects" aria-live="polite">{move || error.get()}</p>
        </fieldset>
    }
}
