//! The notifications list (`/notifications`: opening it marks what it
//! shows read) and Settings > Notifications (each event type per channel,
//! and whether this server sends email at all).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    notifications::{NotificationItem, NotificationSettings, PreferenceRow},
    rpc::notifications::{
        get_notification_settings, open_notifications, MarkAllNotificationsRead,
        SetNotificationPreference,
    },
};

/// Bumped when something marked notifications read, so the bell counts again.
#[derive(Clone, Copy)]
pub struct BellVersion(pub RwSignal<u32>);

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let query = use_query_map();
    let mark_all = ServerAction::<MarkAllNotificationsRead>::new();
    let page = Resource::new(
        move || (query.with(|q| q.get("before")), mark_all.version().get()),
        |(before, _)| open_notifications(before),
    );
    let bell = use_context::<BellVersion>();
    // Once the page is shown (and so marked read), the bell counts again.
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(bell)) = (page.get(), bell) {
            bell.0.update(|v| *v += 1);
        }
    });
    view! {
        <Title text="Notifications · Preqstation"/>
        <div class="flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold">"Notifications"</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "What happened to your tokens and account, newest first, kept for 90 days. "
                    <A href="/settings/notifications" attr:class="text-indigo-700 underline">"Choose what you get"</A>
                </p>
            </div>
            <ActionForm action=mark_all>
                <button type="submit" data-testid="mark-all-read" class="rounded-md border border-slate-300 px-3 py-2 text-sm text-slate-700 hover:bg-slate-50">
                    "Mark all read"
                </button>
            </ActionForm>
        </div>
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading notifications…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) if p.items.is_empty() => view! {
                        <p class="mt-6 text-sm text-slate-600" data-testid="notifications-empty">"Nothing yet. You will be told here before a token expires, when one is used from a new address, and when something changes on your account."</p>
                    }.into_any(),
                    Ok(p) => view! {
                        <ul class="mt-6 grid gap-3" data-testid="notifications">
                            {p.items.into_iter().map(|n| view! { <Item n=n/> }).collect::<Vec<_>>()}
                        </ul>
                        {p.next_before.map(|b| view! {
                            <a href=format!("/notifications?before={b}") class="mt-4 inline-block text-sm text-indigo-700 hover:underline">"Older notifications"</a>
                        })}
                    }.into_any(),
                    Err(e) => view! { <p role="alert" class="mt-6 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Item(n: NotificationItem) -> impl IntoView {
    let new = !n.was_read;
    view! {
        <li class=if new { "rounded-lg border border-indigo-200 bg-indigo-50/50 p-4" } else { "rounded-lg border border-slate-200 bg-white p-4" }
            data-kind=n.kind.as_str() data-new=new.to_string()>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <p class="font-medium">
                    {new.then(|| view! { <span class="mr-2 rounded bg-indigo-600 px-1.5 py-0.5 text-xs font-semibold text-white">"New"</span> })}
                    {n.title.clone()}
                </p>
                <span class="text-xs text-slate-600">{n.at.display_utc()}</span>
            </div>
            <p class="mt-1 text-sm text-slate-700">{n.text.clone()}</p>
            <p class="mt-1 text-sm text-slate-600"><span class="font-medium">"What to do: "</span>{n.next.clone()}</p>
            {n.link.clone().map(|(href, words)| view! {
                <A href=href attr:class="mt-2 inline-block text-sm text-indigo-700 hover:underline">{words}</A>
            })}
        </li>
    }
}

#[component]
pub fn NotificationSettingsPage() -> impl IntoView {
    let set = ServerAction::<SetNotificationPreference>::new();
    let settings = Resource::new(move || set.version().get(), |_| get_notification_settings());
    let error = move || {
        set.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Notifications · Settings · Preqstation"/>
        <div>
        <h1 class="text-2xl font-semibold">"Notifications"</h1>
        <p class="mt-1 max-w-2xl text-sm text-slate-600">
            "Choose what you are told about, in the dashboard (the bell) and by email. Security notices always appear in the dashboard; you can switch off their email."
        </p>
        </div>
        <Show when=move || error().is_some()>
            <p role="alert" data-field="choice" class="mt-4 text-sm text-red-700">{error}</p>
        </Show>
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <Preferences s=s set=set/> }.into_any(),
                    Err(e) => view! { <p role="alert" class="mt-6 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Preferences(
    s: NotificationSettings,
    set: ServerAction<SetNotificationPreference>,
) -> impl IntoView {
    let email_on = s.email_configured;
    view! {
        <div>
        {if email_on {
            view! { <p class="mt-4 text-sm text-slate-700" data-testid="email-status">"Email goes to " <strong>{s.email_address.clone()}</strong> "."</p> }.into_any()
        } else {
            view! {
                <p class="mt-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="email-status">
                    "Email is off on this server: no SMTP server is configured (an administrator sets PREQSTATION_SMTP_HOST). Your email choices below apply once it is."
                </p>
            }.into_any()
        }}
        <div class="mt-4 overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class="min-w-full text-sm">
                <caption class="sr-only">"Notification preferences"</caption>
                <thead class="bg-slate-50 text-left text-xs uppercase text-slate-500">
                    <tr><th scope="col" class="px-4 py-2">"Event"</th><th scope="col" class="px-4 py-2">"Dashboard"</th><th scope="col" class="px-4 py-2">"Email"</th></tr>
                </thead>
                <tbody>
                    {s.rows.into_iter().map(|r| view! { <PreferenceLine r=r set=set/> }).collect::<Vec<_>>()}
                </tbody>
            </table>
        </div>
        </div>
    }
}

#[component]
fn PreferenceLine(r: PreferenceRow, set: ServerAction<SetNotificationPreference>) -> impl IntoView {
    let kind = r.kind.as_str();
    let name = r.label.clone();
    let switch = move |channel: &'static str, on: bool, locked: bool| {
        let label = format!(
            "{name} by {}",
            if channel == "email" {
                "email"
            } else {
                "the dashboard"
            }
        );
        if locked {
            return view! { <span class="text-xs text-slate-500" data-channel=channel>"Always on"</span> }.into_any();
        }
        view! {
            <ActionForm action=set>
                <input type="hidden" name="kind" value=kind/>
                <input type="hidden" name="channel" value=channel/>
                <input type="hidden" name="enabled" value=(!on).to_string()/>
                <button type="submit" role="switch" aria-checked=on.to_string() aria-label=label data-channel=channel
                    class=if on { "rounded-full bg-indigo-600 px-3 py-1 text-xs font-medium text-white" } else { "rounded-full bg-slate-200 px-3 py-1 text-xs font-medium text-slate-700" }>
                    {if on { "On" } else { "Off" }}
                </button>
            </ActionForm>
        }.into_any()
    };
    view! {
        <tr class="border-t border-slate-100" data-kind=kind>
            <td class="px-4 py-2">
                {r.label.clone()}
                {r.security.then(|| view! { <span class="ml-2 rounded bg-red-50 px-1.5 py-0.5 text-xs text-red-800">"Security"</span> })}
            </td>
            <td class="px-4 py-2">{switch("in_app", r.in_app, r.security)}</td>
            <td class="px-4 py-2">{switch("email", r.email, false)}</td>
        </tr>
    }
}
