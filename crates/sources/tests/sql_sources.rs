//! Reading from a real PostgreSQL server and from SQLite files: values read
//! back equal what was written; wrong types, empty results and bad SQL are
//! reported with the metric and the source.

mod support;

use std::path::{Path, PathBuf};

use whyline_catalog::{Catalog, SourceFile, parse};
use whyline_series::TimeRange;
use whyline_sources::{DataSet, Options, Quiet, fetch};

const T0: i64 = 1_772_400_000; // 2026-03-01T21:20:00Z, a multiple of 60
const POINTS: i64 = 120;

fn value(i: i64) -> f64 {
    100.0 + i as f64 * 0.5
}

fn catalog(dir: &Path, connections: &str, metrics: &str) -> Catalog {
    let checked = parse(vec![SourceFile {
        path: dir.join("t.yaml"),
        text: format!("version: 1\nconnections:\n{connections}metrics:\n{metrics}"),
    }]);
    assert!(checked.is_valid(), "{:#?}", checked.diagnostics);
    checked.catalog
}

fn read(catalog: &Catalog, ids: &[&str]) -> DataSet {
    let options = Options {
        range: Some(TimeRange {
            start: T0 * 1000,
            end: (T0 + POINTS * 60) * 1000,
        }),
        step_ms: Some(60_000),
        ..Options::default()
    };
    fetch(
        catalog,
        &ids.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &options,
        &Quiet,
    )
}

fn reason(data: &DataSet, id: &str) -> String {
    data.missing
        .iter()
        .find(|m| m.metric == id)
        .map(ToString::to_string)
        .unwrap_or_else(|| format!("{id} is not missing"))
}

fn assert_values(data: &DataSet, id: &str) {
    let series = data
        .get(id)
        .unwrap_or_else(|| panic!("{id}: {:?}", data.missing));
    assert_eq!(series.values.len(), POINTS as usize);
    for (i, v) in series.values.iter().enumerate() {
        assert_eq!(*v, value(i as i64), "{id} point {i}");
    }
}

const PG_METRICS: &str = "  - { id: revenue, layer: business, source: { sql: { connection: warehouse, query: 'select ts, revenue from orders where ts >= $from and ts < $to order by ts' } } }
  - { id: revenue_epoch, layer: business, source: { sql: { connection: warehouse, query: 'select extract(epoch from ts)::bigint, revenue from orders where ts >= $from and ts < $to' } } }
  - { id: as_numeric, layer: business, source: { sql: { connection: warehouse, query: 'select ts, revenue::numeric from orders' } } }
  - { id: as_text, layer: business, source: { sql: { connection: warehouse, query: 'select ts, label from orders' } } }
  - { id: nothing, layer: business, source: { sql: { connection: warehouse, query: 'select ts, revenue from orders where ts < $from' } } }
  - { id: typo, layer: business, source: { sql: { connection: warehouse, query: 'select ts, revenu from orders' } } }
  - { id: injected, layer: business, source: { sql: { connection: warehouse, query: 'select ts, revenue from orders where label = $from::text' } } }
";

#[test]
fn postgres_reads_back_values_and_explains_what_is_wrong() {
    let Some(server) = support::postgres() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, driver) = tokio_postgres::connect(&server.url(), tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(driver);
        client.batch_execute("create table orders (ts timestamptz primary key, revenue double precision, label text)").await.expect("create");
        for i in 0..POINTS {
            client
                .execute(
                    "insert into orders values (to_timestamp($1), $2, $3)",
                    &[&((T0 + i * 60) as f64), &value(i), &format!("row {i}")],
                )
                .await
                .expect("insert");
        }
    });
    // SAFETY: this test binary reads the variable only here.
    unsafe { std::env::set_var("WHYLINE_TEST_WAREHOUSE", server.url()) };
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = catalog(
        dir.path(),
        "  warehouse: { kind: postgres, url_env: WHYLINE_TEST_WAREHOUSE }\n",
        PG_METRICS,
    );
    let data = read(
        &catalog,
        &[
            "revenue",
            "revenue_epoch",
            "as_numeric",
            "as_text",
            "nothing",
            "typo",
            "injected",
        ],
    );
    assert_values(&data, "revenue");
    assert_values(&data, "revenue_epoch");
    assert!(
        reason(&data, "as_numeric").contains(
            "holds numeric, not a number: cast it in the query: `revenue::double precision`"
        ),
        "{}",
        reason(&data, "as_numeric")
    );
    assert!(
        reason(&data, "as_text").contains("column `label` of the query holds text, not a number"),
        "{}",
        reason(&data, "as_text")
    );
    assert!(
        reason(&data, "nothing")
            .starts_with("`nothing` from postgres `warehouse`: no data between"),
        "{}",
        reason(&data, "nothing")
    );
    assert!(
        reason(&data, "typo").contains("column \"revenu\" does not exist"),
        "{}",
        reason(&data, "typo")
    );
    // `$from` is bound, never pasted: compared as text it matches no label.
    assert!(
        reason(&data, "injected").contains("no data between"),
        "{}",
        reason(&data, "injected")
    );

    // The test server has no TLS: `sslmode=require` must fail clearly, not fall back.
    // SAFETY: this test binary reads the variable only here.
    unsafe {
        std::env::set_var(
            "WHYLINE_TEST_WAREHOUSE_TLS",
            format!("{}?sslmode=require", server.url()),
        )
    };
    let tls = self::catalog(
        dir.path(),
        "  warehouse: { kind: postgres, url_env: WHYLINE_TEST_WAREHOUSE_TLS }\n",
        PG_METRICS,
    );
    let data = read(&tls, &["revenue"]);
    let why = reason(&data, "revenue");
    assert!(
        why.starts_with("`revenue` from postgres `warehouse`: warehouse: cannot connect")
            && why.to_lowercase().contains("tls"),
        "{why}"
    );
}

#[test]
fn postgres_that_is_down_is_reported() {
    // SAFETY: this test binary reads the variable only here.
    unsafe {
        std::env::set_var(
            "WHYLINE_TEST_DOWN",
            format!("postgres://postgres@127.0.0.1:{}/x", support::free_port()),
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = catalog(
        dir.path(),
        "  warehouse: { kind: postgres, url_env: WHYLINE_TEST_DOWN }\n",
        PG_METRICS,
    );
    let data = read(&catalog, &["revenue"]);
    assert!(
        reason(&data, "revenue")
            .starts_with("`revenue` from postgres `warehouse`: warehouse: cannot connect"),
        "{}",
        reason(&data, "revenue")
    );
}

#[test]
fn sqlite_reads_back_values_and_explains_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = rusqlite::Connection::open(dir.path().join("business.sqlite")).expect("open");
    db.execute_batch("create table orders (ts integer, iso text, revenue real, label text);")
        .expect("create");
    for i in 0..POINTS {
        let t = T0 + i * 60;
        let iso = whyline_series::format_time(t * 1000);
        db.execute(
            "insert into orders values (?1, ?2, ?3, ?4)",
            rusqlite::params![t, iso, value(i), format!("row {i}")],
        )
        .expect("insert");
    }
    drop(db);
    let metrics = "  - { id: revenue, layer: business, source: { sql: { connection: local, query: 'select ts, revenue from orders where ts >= $from and ts < $to' } } }
  - { id: revenue_iso, layer: business, source: { sql: { connection: local, query: 'select iso, revenue from orders' } } }
  - { id: as_text, layer: business, source: { sql: { connection: local, query: 'select ts, label from orders' } } }
  - { id: nothing, layer: business, source: { sql: { connection: local, query: 'select ts, revenue from orders where ts < $from' } } }
  - { id: typo, layer: business, source: { sql: { connection: local, query: 'select ts, revenu from orders' } } }
  - { id: gone, layer: business, source: { sql: { connection: gone, query: 'select 1, 2' } } }
";
    let catalog = catalog(
        dir.path(),
        "  local: { kind: sqlite, path: business.sqlite }\n  gone: { kind: sqlite, path: nowhere.sqlite }\n",
        metrics,
    );
    let data = read(
        &catalog,
        &[
            "revenue",
            "revenue_iso",
            "as_text",
            "nothing",
            "typo",
            "gone",
        ],
    );
    assert_values(&data, "revenue");
    assert_values(&data, "revenue_iso");
    assert!(
        reason(&data, "as_text")
            .contains("column `label` of the query holds text `row 0`, not a number"),
        "{}",
        reason(&data, "as_text")
    );
    assert!(
        reason(&data, "nothing").contains("no data between"),
        "{}",
        reason(&data, "nothing")
    );
    assert!(
        reason(&data, "typo").contains("no such column: revenu"),
        "{}",
        reason(&data, "typo")
    );
    assert!(
        reason(&data, "gone").contains("nowhere.sqlite"),
        "{}",
        reason(&data, "gone")
    );
    let _ = PathBuf::new();
}
