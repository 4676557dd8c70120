//! Each schema change is written twice, once per database. The pair must
//! say the same thing: a column added to one file and forgotten in the
//! other would pass every test on one backend and break the other in
//! production. Only the declared differences below are allowed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

/// Files where the backends must differ, and why. In these, everything
/// from the first trigger (or trigger function) on is the backend's own;
/// only triggers may follow it, and both must guard the same tables.
const DECLARED: &[(&str, &str)] = &[
    (
        "0003_audit_log.sql",
        "append-only triggers: a PL/pgSQL function on PostgreSQL, RAISE(ABORT) on SQLite",
    ),
    (
        "1010_money_trail.sql",
        "append-only triggers: a PL/pgSQL function on PostgreSQL, RAISE(ABORT) on SQLite",
    ),
];

/// The SQL lines that must match: comments and blank lines dropped,
/// whitespace runs made one space.
fn statements(sql: &str) -> Vec<String> {
    sql.lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

fn is_trigger_part(line: &str) -> bool {
    line.starts_with("CREATE FUNCTION") || line.starts_with("CREATE TRIGGER")
}

/// Tables a file's triggers guard.
fn guarded(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("CREATE TRIGGER"))
        .filter_map(|l| {
            let words: Vec<&str> = l.split(' ').collect();
            let on = words.iter().position(|w| *w == "ON")?;
            words.get(on + 1).map(|t| (*t).to_owned())
        })
        .collect()
}

/// What is wrong with a pair, if anything.
fn compare(name: &str, postgres: &str, sqlite: &str) -> Result<(), String> {
    let (pg, lite) = (statements(postgres), statements(sqlite));
    if !DECLARED.iter().any(|(file, _)| *file == name) {
        return match pg.iter().zip(&lite).position(|(a, b)| a != b) {
            Some(i) => Err(format!(
                "{name}: line {} differs:\n  postgres: {}\n  sqlite:   {}",
                i + 1,
                pg[i],
                lite[i]
            )),
            None if pg.len() != lite.len() => Err(format!(
                "{name}: postgres has {} SQL lines, sqlite {}",
                pg.len(),
                lite.len()
            )),
            None => Ok(()),
        };
    }
    let split = |lines: &[String]| {
        let at = lines
            .iter()
            .position(|l| is_trigger_part(l))
            .unwrap_or(lines.len());
        (lines[..at].to_vec(), lines[at..].to_vec())
    };
    let ((pg_common, pg_own), (lite_common, lite_own)) = (split(&pg), split(&lite));
    if pg_common != lite_common {
        return Err(format!("{name}: the tables before the triggers differ"));
    }
    for own in [&pg_own, &lite_own] {
        if let Some(other) = own.iter().find(|l| {
            [
                "CREATE TABLE",
                "CREATE INDEX",
                "ALTER",
                "INSERT",
                "DROP",
                "UPDATE",
            ]
            .iter()
            .any(|start| l.starts_with(start))
        }) {
            return Err(format!(
                "{name}: only triggers may follow the first trigger, found: {other}"
            ));
        }
    }
    if guarded(&pg_own) != guarded(&lite_own) {
        return Err(format!(
            "{name}: triggers guard {:?} on postgres but {:?} on sqlite",
            guarded(&pg_own),
            guarded(&lite_own)
        ));
    }
    if pg_own == lite_own {
        return Err(format!(
            "{name}: declared different but the same: take it off the list"
        ));
    }
    Ok(())
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect()
}

#[test]
fn every_migration_says_the_same_on_both_databases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut checked = 0;
    for (postgres, sqlite) in [
        (root.join("postgres"), root.join("sqlite")),
        (root.join("pay/postgres"), root.join("pay/sqlite")),
    ] {
        assert_eq!(
            names(&postgres),
            names(&sqlite),
            "every migration has a twin"
        );
        for name in names(&postgres) {
            let read = |dir: &Path| std::fs::read_to_string(dir.join(&name)).unwrap();
            if let Err(e) = compare(&name, &read(&postgres), &read(&sqlite)) {
                panic!("{e}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "found {checked} pairs");
}

#[test]
fn a_column_added_to_one_twin_only_is_found() {
    let postgres = "-- postgres\nCREATE TABLE t (\n    a TEXT,\n    b BIGINT\n);\n";
    let sqlite = "-- sqlite\nCREATE TABLE t (\n    a TEXT\n);\n";
    let found = compare("0099_planted.sql", postgres, sqlite).unwrap_err();
    assert!(found.contains("line 2 differs"), "{found}");
    assert!(compare("0099_planted.sql", postgres, postgres).is_ok());
    assert!(
        compare(
            "0099_planted.sql",
            "CREATE TABLE t (a TEXT);",
            "-- only comments differ\nCREATE   TABLE t (a TEXT);"
        )
        .is_ok()
    );
}

#[test]
fn a_table_unguarded_on_one_database_is_found() {
    let table = "CREATE TABLE t (a TEXT);\nCREATE TABLE u (a TEXT);\n";
    let postgres = format!(
        "{table}CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$;\n\
         CREATE TRIGGER t_no BEFORE UPDATE OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION f();\n\
         CREATE TRIGGER u_no BEFORE UPDATE OR DELETE ON u FOR EACH ROW EXECUTE FUNCTION f();\n"
    );
    let sqlite = format!(
        "{table}CREATE TRIGGER t_no BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, 'no'); END;\n"
    );
    let found = compare("0003_audit_log.sql", &postgres, &sqlite).unwrap_err();
    assert!(found.contains("guard"), "{found}");
    let late_table = format!("{sqlite}CREATE TABLE v (a TEXT);\n");
    let found = compare("0003_audit_log.sql", &postgres, &late_table).unwrap_err();
    assert!(found.contains("only triggers"), "{found}");
}
