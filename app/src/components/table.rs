//! The dashboard's data table (accounts, sessions, connected apps, the audit
//! log): a bordered box that scrolls sideways on a narrow screen, a header
//! row of `th scope="col"`, one `tr` per item from the page's row closure,
//! and a message in place of the table when there is nothing to list.

use leptos::{either::Either, prelude::*};

/// A column heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    label: &'static str,
    visible: bool,
}

impl Column {
    /// A heading shown to everyone.
    pub const fn new(label: &'static str) -> Self {
        Self {
            label,
            visible: true,
        }
    }

    /// A heading for screen readers only, e.g. "Actions" over a column of
    /// buttons that label themselves.
    pub const fn hidden(label: &'static str) -> Self {
        Self {
            label,
            visible: false,
        }
    }
}

/// The class of an ordinary row (`<tr class=ROW>`): a thin rule above it.
pub const ROW: &str = "border-t border-slate-100";

/// A table of `rows`, each rendered by `row` as one `<tr>` of `<td>`s (in
/// the order of `columns`); `empty` is shown instead when there are none.
#[component]
pub fn DataTable<T, R, V>(
    /// The headings, left to right.
    columns: &'static [Column],
    /// The items, one row each.
    rows: Vec<T>,
    /// One item as a `<tr>`.
    row: R,
    /// The table's accessible name.
    label: &'static str,
    /// Shown instead of the table when `rows` is empty.
    empty: &'static str,
    /// Narrower header cells (`px-3`), for wide tables; the rows' cells match.
    #[prop(optional)]
    dense: bool,
    /// The space above the table (or the empty message).
    #[prop(default = "mt-6")]
    margin: &'static str,
) -> impl IntoView
where
    T: 'static,
    R: Fn(T) -> V + 'static,
    V: IntoView + 'static,
{
    if rows.is_empty() {
        return Either::Left(view! {
            <p class=format!("{margin} rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center text-sm text-slate-600")>
                {empty}
            </p>
        });
    }
    let cell = if dense { "px-3 py-2" } else { "px-4 py-2" };
    let head = columns
        .iter()
        .map(|c| {
            let text = if c.visible {
                Either::Left(c.label)
            } else {
                Either::Right(view! { <span class="sr-only">{c.label}</span> })
            };
            view! { <th scope="col" class=cell>{text}</th> }
        })
        .collect::<Vec<_>>();
    let body = rows.into_iter().map(row).collect::<Vec<_>>();
    Either::Right(view! {
        <div class=format!("{margin} overflow-x-auto rounded-lg border border-slate-200 bg-white")>
            <table class="w-full text-left text-sm" aria-label=label>
                <thead class="bg-slate-50 text-xs uppercase text-slate-500">
                    <tr>{head}</tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    })
}
