//! Projects: the owner's list and create form, and a project's page with
//! its settings, its tasks (filter by status, change status) and each
//! task's latest work logs, as agents left them, with a link to all of a
//! task's work logs (`pages::task_logs`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    components::FormAlert,
    projects::{settings_text, Project},
    rpc::{
        projects::{get_project, list_projects, CreateProject, UpdateProject},
        tasks::{project_tasks, SetTaskStatus},
    },
    tasks::{TaskStatus, TaskWithLogs, WorkLog},
};

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let projects = Resource::new(move || create.version().get(), |_| list_projects());
    let err = move || create.value().get().and_then(|r| r.err());
    let field = move |f: &'static str| move || err().and_then(|e| e.for_field(f));
    view! {
        <Title text="Projects · Preqstation"/>
        <h1 class="text-2xl font-semibold">"Projects"</h1>
        <p class="mt-1 max-w-2xl text-sm text-slate-600">
            "Your agents read projects and their settings, and create tasks and work logs in them."
        </p>
        <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading projects…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(list) if list.is_empty() => view! {
                        <div class="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
                            <p class="font-medium">"No projects yet"</p>
                            <p class="mt-1 text-sm text-slate-600">"Create one below; agents with the projects:read scope will see it."</p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-6 grid gap-3 sm:grid-cols-2">
                            {list.into_iter().map(|p| view! {
                                <li>
                                    <A href=format!("/projects/{}", p.id) attr:class="block rounded-lg border border-slate-200 bg-white p-4 hover:border-indigo-300">
                                        <span class="font-semibold">{p.name.clone()}</span>
                                        <span class="mt-1 block text-sm text-slate-600">{p.description.clone().unwrap_or_default()}</span>
                                        <span class="mt-2 block text-xs text-slate-500">{format!("{} settings", p.settings.len())}</span>
                                    </A>
                                </li>
                            }).collect::<Vec<_>>()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="mt-4 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <section class="mt-8 max-w-xl rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <h2 class="text-lg font-semibold">"New project"</h2>
            <div class="mt-4"><FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/></div>
            <ActionForm action=create>
                <div class="grid gap-4">
                    <div>
                        <label for="project-name" class="block text-sm font-medium">"Name"</label>
                        <input id="project-name" name="name" required maxlength="100" class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                        <p class="mt-1 text-sm text-red-700" data-error-for="name">{field("name")}</p>
                    </div>
                    <div>
                        <label for="project-description" class="block text-sm font-medium">"Description " <span class="font-normal text-slate-500">"(optional)"</span></label>
                        <textarea id="project-description" name="description" rows="2" class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm"></textarea>
                        <p class="mt-1 text-sm text-red-700" data-error-for="description">{field("description")}</p>
                    </div>
                    <div>
                        <label for="project-settings" class="block text-sm font-medium">"Settings " <span class="font-normal text-slate-500">"(optional)"</span></label>
                        <textarea id="project-settings" name="settings" rows="3" placeholder="repo = git@github.com:you/app.git\nbranch = main"
                            class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 font-mono text-sm"></textarea>
                        <p class="mt-1 text-xs text-slate-500">"One key = value per line; keys use a-z, 0-9, _ . - ."</p>
                        <p class="mt-1 text-sm text-red-700" data-error-for="settings">{field("settings")}</p>
                    </div>
                    <div>
                        <button type="submit" class="rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800">"Create project"</button>
                    </div>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateProject>::new();
    let set_status = ServerAction::<SetTaskStatus>::new();
    let filter = RwSignal::new(String::from("all"));
    let project = Resource::new(
        move || (id(), update.version().get()),
        |(id, _)| get_project(id),
    );
    let tasks = Resource::new(
        move || (id(), filter.get(), set_status.version().get()),
        |(id, status, _)| project_tasks(id, Some(status)),
    );
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading project…"</p> }>
            {move || Suspend::new(async move {
                match project.await {
                    Ok(p) => view! { <ProjectHeader project=p update=update/> }.into_any(),
                    Err(e) => view! {
                        <Title text="Project not found · Preqstation"/>
                        <p class="text-sm text-red-700">{e.to_string()}</p>
                        <A href="/projects" attr:class="mt-2 inline-block text-sm text-indigo-700 hover:underline">"All projects"</A>
                    }.into_any(),
                }
            })}
        </Transition>
        <div class="mt-8 flex items-center justify-between">
            <h2 class="text-lg font-semibold">"Tasks"</h2>
            <label class="flex items-center gap-2 text-sm">
                "Status"
                <select name="task-status-filter" class="rounded-md border border-slate-300 bg-white px-2 py-1"
                    on:change=move |ev| filter.set(event_target_value(&ev))>
                    <option value="all">"All"</option>
                    {TaskStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect::<Vec<_>>()}
                </select>
            </label>
        </div>
        <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading tasks…"</p> }>
            {move || Suspend::new(async move {
                match tasks.await {
                    Ok(list) if list.is_empty() => view! {
                        <div class="mt-4 rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center text-sm text-slate-600">
                            "No tasks here yet. Agents create tasks with POST /api/tasks (scope tasks:write); see the "
                            <a class="text-indigo-700 hover:underline" href="/docs/api">"API reference"</a>"."
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-4 grid gap-3">
                            {list.into_iter().map(|t| view! { <TaskCard item=t set_status=set_status/> }).collect::<Vec<_>>()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="mt-4 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProjectHeader(project: Project, update: ServerAction<UpdateProject>) -> impl IntoView {
    let err = move || update.value().get().and_then(|r| r.err());
    let saved = move || matches!(update.value().get(), Some(Ok(_)));
    view! {
        <Title text=format!("{} · Preqstation", project.name)/>
        <p class="text-sm"><A href="/projects" attr:class="text-indigo-700 hover:underline">"Projects"</A></p>
        <h1 class="mt-1 text-2xl font-semibold" data-testid="project-name">{project.name.clone()}</h1>
        <details class="mt-4 rounded-lg border border-slate-200 bg-white p-4">
            <summary class="cursor-pointer text-sm font-medium">"Description and settings"</summary>
            <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
            <Show when=saved><p role="status" class="mt-2 text-sm text-green-800">"Saved."</p></Show>
            <ActionForm action=update>
                <input type="hidden" name="id" value=project.id.clone()/>
                <div class="mt-3 grid gap-3">
                    <label class="block text-sm font-medium" for="edit-description">"Description"</label>
                    <textarea id="edit-description" name="description" rows="2" class="block w-full rounded-md border border-slate-300 px-3 py-2 text-sm">
                        {project.description.clone().unwrap_or_default()}
                    </textarea>
                    <label class="block text-sm font-medium" for="edit-settings">"Settings (key = value per line)"</label>
                    <textarea id="edit-settings" name="settings" rows="4" class="block w-full rounded-md border border-slate-300 px-3 py-2 font-mono text-sm">
                        {settings_text(&project.settings)}
                    </textarea>
                    <p class="text-sm text-red-700" data-error-for="settings">{move || err().and_then(|e| e.for_field("settings"))}</p>
                    <div><button type="submit" class="rounded-md bg-indigo-700 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-800">"Save"</button></div>
                </div>
            </ActionForm>
        </details>
    }
}

#[component]
fn TaskCard(item: TaskWithLogs, set_status: ServerAction<SetTaskStatus>) -> impl IntoView {
    let task = item.task;
    let current = task.status;
    let all_logs = format!("/tasks/{}/logs", task.id);
    view! {
        <li class="rounded-lg border border-slate-200 bg-white p-4" data-task=task.title.clone()>
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div>
                    <p class="font-medium">{task.title.clone()}</p>
                    {task.description.clone().map(|d| view! { <p class="mt-1 whitespace-pre-wrap text-sm text-slate-600">{d}</p> })}
                    <p class="mt-1 text-xs text-slate-500">
                        {format!("Created {}", task.created_at.display_utc())}
                        {task.created_by.clone().map(|p| format!(" by token {p}"))}
                    </p>
                </div>
                <ActionForm action=set_status>
                    <input type="hidden" name="id" value=task.id.clone()/>
                    <div class="flex items-center gap-2">
                        <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs" data-testid="task-status">{current.label()}</span>
                        <select name="status" aria-label="New status" class="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm">
                            {TaskStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=s == current>{s.label()}</option> }).collect::<Vec<_>>()}
                        </select>
                        <button type="submit" class="rounded-md border border-slate-300 px-2 py-1 text-sm hover:bg-slate-50">"Set status"</button>
                    </div>
                </ActionForm>
            </div>
            {task.result.clone().map(|r| view! {
                <p class="mt-3 rounded-md bg-green-50 px-3 py-2 text-sm text-green-900"><span class="font-medium">"Result: "</span>{r}</p>
            })}
            <div class="mt-3">
                <p class="text-xs font-semibold uppercase text-slate-500">"Work log"</p>
                {if item.logs.is_empty() {
                    view! { <p class="text-sm text-slate-500">"No work logged yet."</p> }.into_any()
                } else {
                    view! { <WorkLogList logs=item.logs.clone()/> }.into_any()
                }}
                {(item.log_count > item.logs.len() as i64).then(|| view! {
                    <p class="mt-1 text-xs text-slate-500" data-testid="worklog-more">
                        {format!("The latest {} of {} entries. ", item.logs.len(), item.log_count)}
                        <A href=all_logs.clone() attr:class="text-indigo-700 hover:underline">"All work logs"</A>
                    </p>
                })}
            </div>
        </li>
    }
}

/// Work-log entries as a list (the project page and the work-log page).
#[component]
pub fn WorkLogList(logs: Vec<WorkLog>) -> impl IntoView {
    view! {
        <ul class="mt-1 grid gap-1">
            {logs.into_iter().map(|l| view! {
                <li class="text-sm" data-testid="worklog">
                    <span class="text-xs text-slate-500">{l.created_at.display_utc()}</span>
                    " "
                    {l.message.clone()}
                    {l.minutes.map(|m| format!(" ({m} min)"))}
                </li>
            }).collect::<Vec<_>>()}
        </ul>
    }
}
