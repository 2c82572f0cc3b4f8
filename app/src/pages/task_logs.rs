//! A task's work logs, all of them, oldest first, a page at a time
//! (`/tasks/{id}/logs?cursor=...`): where the project page's "All work
//! logs" link leads. The pages are the REST list's (`tasks::task_logs`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

use crate::{pages::projects::WorkLogList, rpc::tasks::task_logs};

#[component]
pub fn TaskLogsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let cursor = move || query.read().get("cursor");
    let page = Resource::new(move || (id(), cursor()), |(id, c)| task_logs(id, c));
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading work logs…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let first = cursor().is_none_or(|c| c.is_empty());
                        view! {
                            <Title text=format!("Work log of {} · Preqstation", p.task.title)/>
                            <p class="text-sm">
                                <A href=format!("/projects/{}", p.task.project_id) attr:class="text-indigo-700 hover:underline">"Back to the project"</A>
                            </p>
                            <h1 class="mt-1 text-2xl font-semibold" data-testid="task-title">{p.task.title.clone()}</h1>
                            <p class="mt-1 text-sm text-slate-600">"Work log, oldest first."</p>
                            {if p.logs.is_empty() {
                                view! { <p class="mt-4 text-sm text-slate-500">"No work logged here."</p> }.into_any()
                            } else {
                                view! { <div class="mt-4 rounded-lg border border-slate-200 bg-white p-4"><WorkLogList logs=p.logs.clone()/></div> }.into_any()
                            }}
                            <div class="mt-4 flex gap-3 text-sm">
                                {(!first).then(|| view! {
                                    <A href=format!("/tasks/{}/logs", p.task.id) attr:class="rounded-md border border-slate-300 px-3 py-1 hover:bg-slate-50">"First page"</A>
                                })}
                                {p.next_cursor.clone().map(|c| view! {
                                    <A href=format!("/tasks/{}/logs?cursor={c}", p.task.id) attr:class="rounded-md border border-slate-300 px-3 py-1 hover:bg-slate-50" attr:data-testid="worklog-next">"Next page"</A>
                                })}
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! {
                        <Title text="Work log not found · Preqstation"/>
                        <p class="text-sm text-red-700">{e.to_string()}</p>
                        <A href="/projects" attr:class="mt-2 inline-block text-sm text-indigo-700 hover:underline">"All projects"</A>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
