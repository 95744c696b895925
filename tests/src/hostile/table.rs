//! The conformance table over real HTTP: its rows made framework-neutral, run against an app
//! together with the extra hostile requests ([`super::requests`]), with a logged-in session
//! where a row needs one, and the report of what happened.

use std::collections::BTreeMap;

use beams_test_support::conformance::{self, CaseSession, Observed};

use super::client::{Outcome, RawResponse, login, request, send_raw};
use super::requests::{Expect, check_expect, hostile_rows};
use crate::process::AppProcess;

/// The session a table row needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowSession {
    /// Log this user in first (rows are skipped when the login form refuses the id).
    LoggedIn(String),
    /// No cookie at all.
    LoggedOut,
    /// A session HTTP cannot produce (e.g. the host's extractor failing); skipped and counted.
    Unproducible(String),
}

/// Checks a response against a row's expectation.
pub type Check = Box<dyn Fn(&RawResponse) -> Result<(), String>>;

/// One row of the conformance table, made framework-neutral by [`conformance_rows`].
pub struct TableRow {
    /// The row's name.
    pub name: String,
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The session it runs with.
    pub session: RowSession,
    /// The table's own check (status, the route's headers, exact body or a verified token).
    pub check: Check,
}

impl std::fmt::Debug for TableRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableRow")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// The conformance table ([`conformance::cases`]) as [`TableRow`]s.
pub fn conformance_rows() -> Vec<TableRow> {
    conformance::cases()
        .into_iter()
        .map(|case| {
            let session = match case.session {
                CaseSession::LoggedIn(user) => RowSession::LoggedIn(user.to_owned()),
                CaseSession::LoggedOut => RowSession::LoggedOut,
                CaseSession::Unavailable => {
                    RowSession::Unproducible("the session store being down".to_owned())
                }
                CaseSession::Rejected(status) => {
                    RowSession::Unproducible(format!("the host's extractor failing with {status}"))
                }
            };
            TableRow {
                name: case.name.to_owned(),
                method: case.method.to_owned(),
                target: case.uri(),
                session,
                check: Box::new(move |r: &RawResponse| {
                    case.check(&Observed {
                        status: r.status,
                        headers: r.headers.clone(),
                        body: r.body.clone(),
                    })
                }),
            }
        })
        .collect()
}

/// What [`run_table`] did.
#[derive(Debug, Default)]
pub struct TableReport {
    /// Conformance rows sent and checked.
    pub table_rows_run: usize,
    /// Conformance rows skipped, by reason.
    pub table_rows_skipped: BTreeMap<String, Vec<String>>,
    /// Hostile rows sent and checked.
    pub hostile_rows_run: usize,
    /// For each hostile row: what the app answered (for the report and for comparing apps).
    pub hostile_outcomes: Vec<(String, String)>,
    /// Every failed check: row name and why.
    pub failures: Vec<(String, String)>,
}

impl TableReport {
    /// Rows skipped in all.
    pub fn skipped(&self) -> usize {
        self.table_rows_skipped.values().map(Vec::len).sum()
    }
}

/// Runs the conformance `rows` and [`hostile_rows`] against `app` over real HTTP, then checks
/// that the app is still alive, still answering, and printed no panic.
pub fn run_table(app: &mut AppProcess, rows: Vec<TableRow>) -> TableReport {
    let addr = app.addr();
    let mut report = TableReport::default();
    let mut cookies: BTreeMap<String, Result<String, String>> = BTreeMap::new();

    for row in rows {
        let cookie = match &row.session {
            RowSession::Unproducible(why) => {
                report
                    .table_rows_skipped
                    .entry(format!("session not producible over HTTP: {why}"))
                    .or_default()
                    .push(row.name);
                continue;
            }
            RowSession::LoggedOut => None,
            RowSession::LoggedIn(user) => {
                let entry = cookies
                    .entry(user.clone())
                    .or_insert_with(|| login(&addr, user).map_err(|o| o.summary()));
                match entry {
                    Ok(cookie) => Some(cookie.clone()),
                    Err(why) => {
                        report
                            .table_rows_skipped
                            .entry(format!("the login form refused the user id ({why})"))
                            .or_default()
                            .push(row.name);
                        continue;
                    }
                }
            }
        };
        let cookie_line = cookie.map(|c| format!("Cookie: {c}"));
        let headers: Vec<&[u8]> = cookie_line.iter().map(|c| c.as_bytes()).collect();
        let req = request(&row.method, row.target.as_bytes(), &addr, &headers, b"");
        report.table_rows_run += 1;
        match send_raw(&addr, &req, row.method == "HEAD") {
            Outcome::Response(r) => {
                if let Err(why) = (row.check)(&r) {
                    report.failures.push((row.name, why));
                }
            }
            Outcome::Closed(why) => report
                .failures
                .push((row.name, format!("no answer: {why}"))),
        }
    }

    let alice = match login(&addr, "alice") {
        Ok(cookie) => cookie,
        Err(o) => panic!("cannot log alice in: {}", o.summary()),
    };
    for row in hostile_rows(&addr, &alice) {
        report.hostile_rows_run += 1;
        let outcome = send_raw(&addr, &row.request, row.head);
        if let Err(why) = check_expect(&row.expect, &outcome) {
            report.failures.push((row.name.to_owned(), why));
        }
        report
            .hostile_outcomes
            .push((row.name.to_owned(), outcome.summary()));
    }

    // Still alive, still answering, no panic on the way.
    if !app.is_running() {
        report
            .failures
            .push(("process".into(), "the app exited".into()));
    }
    let probe = request(
        "GET",
        b"/pusher/beams-auth?user_id=alice",
        &addr,
        &[format!("Cookie: {alice}").as_bytes()],
        b"",
    );
    if let Err(why) = check_expect(&Expect::Token, &send_raw(&addr, &probe, false)) {
        report.failures.push(("still answering".into(), why));
    }
    let output = app.output();
    if output.contains("panicked") {
        report
            .failures
            .push(("process".into(), format!("the app panicked:\n{output}")));
    }
    report
}

/// Prints a report and fails (panics) on any failure.
pub fn assert_report(app_name: &str, report: &TableReport) {
    eprintln!(
        "{app_name}: {} conformance rows run, {} skipped, {} hostile rows run",
        report.table_rows_run,
        report.skipped(),
        report.hostile_rows_run
    );
    for (reason, rows) in &report.table_rows_skipped {
        eprintln!("  skipped ({reason}): {rows:?}");
    }
    for (name, outcome) in &report.hostile_outcomes {
        eprintln!("  {name}: {outcome}");
    }
    assert!(
        report.failures.is_empty(),
        "{app_name}: {} failure(s):\n{}",
        report.failures.len(),
        report
            .failures
            .iter()
            .map(|(n, w)| format!("- {n}: {w}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
