#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use civicpay_core::ach::{AccountKind, ReturnCode, RoutingNumber, SecCode, TraceNumber};
use civicpay_core::{Currency, Money};
use civicpay_nacha::{
    AchFile, Addenda, BankNotice, Batch, BatchHeader, Correction, Entry, EntryPurpose, FileHeader,
    NachaError, TransactionCode, notices,
};
use civicpay_vault::BankAccountNumber;
use jiff::civil::date;
use proptest::prelude::*;

fn routing(number: &str) -> RoutingNumber {
    RoutingNumber::parse(number).unwrap()
}

fn odfi() -> RoutingNumber {
    routing("021000021")
}

fn trace(sequence: u32) -> TraceNumber {
    TraceNumber::new(&odfi(), sequence).unwrap()
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::Usd)
}

fn header() -> FileHeader {
    FileHeader {
        immediate_destination: odfi(),
        immediate_origin: "1234567890".into(),
        created: date(2026, 12, 2).at(14, 30, 0, 0),
        id_modifier: 'A',
        destination_name: "JPMORGAN CHASE".into(),
        origin_name: "CITY OF SPRINGFIELD".into(),
        reference_code: String::new(),
    }
}

fn batch_header(sec: SecCode, description: &str, number: u32) -> BatchHeader {
    BatchHeader {
        company_name: "SPRINGFIELD UTIL".into(),
        discretionary_data: String::new(),
        company_id: "1234567890".into(),
        sec,
        entry_description: description.into(),
        descriptive_date: String::new(),
        effective_date: date(2026, 12, 3),
        settlement_date: String::new(),
        originating_dfi: odfi().dfi_identification().to_owned(),
        batch_number: number,
    }
}

#[allow(clippy::too_many_arguments)]
fn entry(
    account: AccountKind,
    purpose: EntryPurpose,
    rdfi: &str,
    number: &str,
    cents: i64,
    name: &str,
    sequence: u32,
) -> Entry {
    Entry {
        transaction_code: TransactionCode::new(account, purpose),
        receiving_dfi: routing(rdfi),
        account: BankAccountNumber::parse(number).unwrap(),
        amount: usd(cents),
        individual_id: format!("PAY{sequence:07}"),
        individual_name: name.into(),
        discretionary_data: "S".into(),
        trace: trace(sequence),
        addenda: Vec::new(),
    }
}

/// Two WEB debits and a prenote, then a TEL debit in a batch of its own.
fn small_file() -> AchFile {
    use AccountKind::*;
    use EntryPurpose::*;
    let mut with_addenda = entry(
        Savings,
        Debit,
        "121000358",
        "987654321",
        4000,
        "ANA LOPEZ",
        2,
    );
    with_addenda.addenda.push(Addenda::PaymentRelated {
        information: "BILL 4471".into(),
    });
    AchFile {
        header: header(),
        batches: vec![
            Batch {
                header: batch_header(SecCode::Web, "UTILITY", 1),
                entries: vec![
                    entry(
                        Checking,
                        Debit,
                        "011000015",
                        "12345678",
                        12550,
                        "José Núñez",
                        1,
                    ),
                    with_addenda,
                    entry(
                        Checking,
                        DebitPrenote,
                        "026009593",
                        "5555",
                        0,
                        "LEE CHAN",
                        3,
                    ),
                ],
            },
            Batch {
                header: batch_header(SecCode::Tel, "PERMIT", 2),
                entries: vec![entry(
                    Checking,
                    Debit,
                    "091000019",
                    "4444333322221111",
                    30000,
                    "SAM OKAFOR",
                    4,
                )],
            },
        ],
    }
}

/// Every figure below was worked out by hand from the layout tables.
#[test]
fn a_small_file_matches_the_figures_worked_by_hand() {
    let text = small_file().write().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 20, "11 records padded to two blocks of ten");
    assert!(lines.iter().all(|l| l.len() == 94));
    assert_eq!(
        lines[0],
        format!(
            "101 0210000211234567890261202143\
             0A094101{:<23}{:<23}{:8}",
            "JPMORGAN CHASE", "CITY OF SPRINGFIELD", ""
        )
    );
    assert_eq!(
        lines[1],
        format!(
            "5225SPRINGFIELD UTIL{:20}1234567890WEBUTILITY   {:6}261203{:3}1021000020000001",
            "", "", ""
        )
    );
    // Accents dropped and upper case: banks take ASCII.
    assert_eq!(
        lines[2],
        "627011000015\
         12345678         \
         0000012550\
         PAY0000001     \
         JOSE NUNEZ            \
         S 0021000020000001"
    );
    assert_eq!(&lines[3][..3], "637");
    assert_eq!(&lines[3][78..79], "1", "addenda indicator");
    assert_eq!(lines[4], format!("705{:<80}00010000002", "BILL 4471"));
    assert_eq!(&lines[5][..3], "628");
    assert_eq!(&lines[5][29..39], "0000000000");
    // Batch 1: 3 entries + 1 addenda; hash 01100001 + 12100035 + 02600959;
    // debits 125.50 + 40.00 + 0.
    assert_eq!(
        lines[6],
        format!(
            "8225000004001580099500000001655000000000000\
             01234567890{:19}{:6}021000020000001",
            "", ""
        )
    );
    assert_eq!(&lines[7][..4], "5225");
    assert_eq!(&lines[7][50..53], "TEL");
    assert_eq!(
        &lines[9][..44],
        "82250000010009100001000000030000000000000000"
    );
    // Two batches, two blocks, 5 entries and addenda, hash 15800995 +
    // 09100001, debits 125.50 + 40.00 + 300.00.
    assert_eq!(
        lines[10],
        format!(
            "9000002000002000000050024900996000000046550000000000000{:39}",
            ""
        )
    );
    for padding in &lines[11..] {
        assert_eq!(*padding, "9".repeat(94));
    }
}

#[test]
fn a_file_reads_back_as_written() {
    let file = small_file();
    let text = file.write().unwrap();
    let parsed = AchFile::parse(&text).unwrap();
    let mut expected = file.clone();
    expected.batches[0].entries[0].individual_name = "JOSE NUNEZ".into();
    assert_eq!(parsed, expected);
    // Line breaks as CRLF, or none at all, read the same.
    assert_eq!(
        AchFile::parse(&text.replace('\n', "\r\n")).unwrap(),
        expected
    );
    assert_eq!(AchFile::parse(&text.replace('\n', "")).unwrap(), expected);
}

fn error_of(text: &str) -> String {
    let error = AchFile::parse(text).unwrap_err();
    let message = error.to_string();
    for account in ["12345678", "987654321", "4444333322221111"] {
        assert!(
            !message.contains(account),
            "the error repeats an account: {message}"
        );
    }
    message
}

fn with_line(text: &str, line: usize, mut edit: impl FnMut(&str) -> String) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { edit(l) } else { l.to_owned() })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_broken_file_is_refused_with_the_line_and_columns_at_fault() {
    let text = small_file().write().unwrap();
    // A changed amount no longer matches the batch control's total.
    let changed = with_line(&text, 3, |l| format!("{}9{}", &l[..38], &l[39..]));
    let message = error_of(&changed);
    assert!(
        message.starts_with("line 7, total debit entry dollar amount (columns 21–32)"),
        "{message}"
    );
    // A wrong entry hash in the file control.
    let changed = with_line(&text, 11, |l| format!("{}1{}", &l[..30], &l[31..]));
    assert!(error_of(&changed).starts_with("line 11, entry hash (columns 22–31)"));
    // A short record.
    let changed = with_line(&text, 4, |l| l[..93].to_owned());
    assert_eq!(
        error_of(&changed),
        "line 4: is 93 characters long; every record is 94"
    );
    // Letters in an account number: said, never repeated.
    let changed = with_line(&text, 3, |l| format!("{}1234X678{}", &l[..12], &l[20..]));
    assert_eq!(
        error_of(&changed),
        "line 3, DFI account number (columns 13–29): \
         the account number may only contain digits and spaces"
    );
    // A wrong check digit on the receiving bank.
    let changed = with_line(&text, 3, |l| format!("{}6{}", &l[..11], &l[12..]));
    assert!(error_of(&changed).contains("line 3, receiving DFI identification and check digit"));
    // A missing block of padding.
    let cut: String = text.lines().take(19).map(|l| format!("{l}\n")).collect();
    assert!(error_of(&cut).contains("19 records"));
    // The file control gone.
    let no_control = with_line(&text, 11, |_| "9".repeat(94));
    assert!(
        error_of(&no_control).starts_with("line 11, batch count"),
        "{}",
        error_of(&no_control)
    );
    assert_eq!(
        AchFile::parse("").unwrap_err(),
        NachaError::File("the file is empty".into())
    );
}

#[test]
fn a_prenote_with_money_is_refused_both_ways() {
    let mut file = small_file();
    file.batches[0].entries[2].amount = usd(1);
    assert!(file.write().unwrap_err().to_string().contains("prenote"));
    let text = small_file().write().unwrap();
    let changed = with_line(&text, 6, |l| format!("{}1{}", &l[..38], &l[39..]));
    assert!(error_of(&changed).contains("a prenote carries no money"));
}

/// A returns file as a bank sends one: each returned debit comes back as a
/// "return of a debit" entry with a type 99 addenda naming our trace, and
/// notices of change come in a COR batch with type 98.
fn returns_file() -> AchFile {
    use AccountKind::*;
    use EntryPurpose::*;
    let bank = routing("011000015");
    let bank_trace = |n| TraceNumber::new(&bank, n).unwrap();
    let returned = |n: u32, code: &str, cents: i64| {
        let mut e = entry(
            Checking,
            ReturnOfDebit,
            "021000021",
            "12345678",
            cents,
            "JOSE NUNEZ",
            n,
        );
        e.trace = bank_trace(n);
        e.addenda.push(Addenda::Return {
            code: ReturnCode::parse(code).unwrap(),
            original_trace: trace(n),
            date_of_death: None,
            original_receiving_dfi: "01100001".into(),
            information: String::new(),
            trace: bank_trace(n),
        });
        e
    };
    let changed = |n: u32, correction: Correction| {
        let mut e = entry(
            Checking,
            ReturnOfDebit,
            "021000021",
            "12345678",
            0,
            "JOSE NUNEZ",
            n,
        );
        e.trace = bank_trace(n);
        e.addenda.push(Addenda::Change {
            correction,
            original_trace: trace(n),
            original_receiving_dfi: "01100001".into(),
            trace: bank_trace(n),
        });
        e
    };
    let mut returns = batch_header(SecCode::Web, "UTILITY", 1);
    returns.settlement_date = "338".into();
    AchFile {
        header: header(),
        batches: vec![
            Batch {
                header: returns,
                entries: vec![returned(1, "R01", 12550), returned(2, "R10", 4000)],
            },
            Batch {
                header: batch_header(SecCode::Cor, "UTILITY", 2),
                entries: vec![
                    changed(
                        3,
                        Correction::RoutingAndAccount(
                            routing("026009593"),
                            BankAccountNumber::parse("77770001").unwrap(),
                        ),
                    ),
                    changed(5, Correction::AccountKind(Savings)),
                    changed(
                        6,
                        Correction::RoutingAccountAndKind(
                            routing("121000358"),
                            BankAccountNumber::parse("12121212121212121").unwrap(),
                            Savings,
                        ),
                    ),
                    changed(
                        7,
                        Correction::AccountAndKind(
                            BankAccountNumber::parse("3333").unwrap(),
                            Checking,
                        ),
                    ),
                    changed(8, Correction::Name("ANA LOPEZ GARCIA".into())),
                ],
            },
        ],
    }
}

#[test]
fn a_returns_file_gives_each_return_and_change_by_our_trace_number() {
    let text = returns_file().write().unwrap();
    let parsed = AchFile::parse(&text).unwrap();
    assert_eq!(parsed, returns_file());
    let found = notices(&parsed).unwrap();
    assert_eq!(found.len(), 7);
    assert_eq!(
        found[0],
        BankNotice::Returned {
            original_trace: trace(1),
            code: ReturnCode::parse("R01").unwrap(),
            amount: usd(12550),
            effective_date: date(2026, 12, 3),
        }
    );
    let BankNotice::Returned { code, .. } = &found[1] else {
        panic!("{:?}", found[1]);
    };
    assert!(code.effect().needs_new_authorisation);
    assert_eq!(found[2].original_trace(), &trace(3));
    let BankNotice::Changed {
        correction: Correction::RoutingAndAccount(r, a),
        ..
    } = &found[2]
    else {
        panic!("{:?}", found[2]);
    };
    assert_eq!((r.as_str(), a.expose_digits()), ("026009593", "77770001"));
    // The corrected data's columns, as the change codes lay them out.
    let lines: Vec<&str> = text.lines().collect();
    let c03 = lines.iter().find(|l| l.starts_with("798C03")).unwrap();
    assert_eq!(&c03[35..64], "026009593   77770001         ");
    let c06 = lines.iter().find(|l| l.starts_with("798C06")).unwrap();
    assert_eq!(&c06[35..64], "3333                27       ");
    let c07 = lines.iter().find(|l| l.starts_with("798C07")).unwrap();
    assert_eq!(&c07[35..64], "1210003581212121212121212137 ");
}

#[test]
fn a_file_of_new_debits_does_not_pass_for_a_returns_file() {
    let error = notices(&small_file()).unwrap_err().to_string();
    assert!(
        error.contains("not a return or a notice of change"),
        "{error}"
    );
}

#[test]
fn ten_thousand_entries_add_up() {
    let banks = [
        "011000015",
        "021000021",
        "026009593",
        "121000358",
        "091000019",
        "322271627",
    ];
    let entries: Vec<Entry> = (1..=10_000u32)
        .map(|n| {
            let bank = banks[n as usize % banks.len()];
            let kind = if n % 3 == 0 {
                AccountKind::Savings
            } else {
                AccountKind::Checking
            };
            entry(
                kind,
                EntryPurpose::Debit,
                bank,
                &format!("{:08}", n * 7),
                i64::from(n) * 101,
                "RESIDENT",
                n,
            )
        })
        .collect();
    let hash: u64 = entries
        .iter()
        .map(|e| e.receiving_dfi.dfi_identification().parse::<u64>().unwrap())
        .sum::<u64>()
        % 10_000_000_000;
    let debits: i64 = (1..=10_000i64).map(|n| n * 101).sum();
    let file = AchFile {
        header: header(),
        batches: vec![Batch {
            header: batch_header(SecCode::Web, "UTILITY", 1),
            entries,
        }],
    };
    let text = file.write().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // 1 + 1 + 10,000 + 1 + 1 = 10,004 records, so 1,001 blocks.
    assert_eq!(lines.len(), 10_010);
    assert!(lines.iter().all(|l| l.len() == 94));
    let control = lines[10_003];
    assert_eq!(&control[..1], "9");
    assert_eq!(&control[1..7], "000001");
    assert_eq!(&control[7..13], "001001");
    assert_eq!(&control[13..21], "00010000");
    assert_eq!(&control[21..31], format!("{hash:010}"));
    assert_eq!(&control[31..43], format!("{debits:012}"));
    assert_eq!(AchFile::parse(&text).unwrap(), file);
}

fn routing_with_check_digit(first8: u32) -> String {
    let first8 = format!("{first8:08}");
    let sum: u32 = first8
        .bytes()
        .zip([3u32, 7, 1, 3, 7, 1, 3, 7])
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    format!("{first8}{}", (10 - sum % 10) % 10)
}

fn text(width: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("([A-Z0-9][A-Z0-9 ]{{0,{}}}[A-Z0-9])?", width - 2))
        .unwrap()
}

fn any_entry() -> impl Strategy<Value = (u8, String, String, i64, String, String, Option<String>)> {
    (
        prop::sample::select(vec![22u8, 23, 27, 28, 32, 33, 37, 38]),
        (0u32..=12_999_999).prop_map(routing_with_check_digit),
        "[0-9]{4,17}",
        0i64..=9_999_999_999,
        text(15),
        text(22),
        prop::option::of(text(80)),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the writer writes, the parser reads back to the same values.
    #[test]
    fn the_writers_output_parsed_back_is_the_same_file(
        batches in prop::collection::vec(
            (prop::sample::select(vec![SecCode::Web, SecCode::Tel, SecCode::Ppd]), text(10),
             prop::collection::vec(any_entry(), 1..6)),
            1..4,
        ),
    ) {
        let mut sequence = 0;
        let batches: Vec<Batch> = batches
            .into_iter()
            .enumerate()
            .map(|(i, (sec, description, entries))| Batch {
                header: batch_header(sec, &description, i as u32 + 1),
                entries: entries
                    .into_iter()
                    .map(|(code, rdfi, account, cents, id, name, addenda)| {
                        sequence += 1;
                        let code = TransactionCode::from_code(code).unwrap();
                        Entry {
                            transaction_code: code,
                            receiving_dfi: routing(&rdfi),
                            account: BankAccountNumber::parse(&account).unwrap(),
                            amount: usd(if code.is_prenote() { 0 } else { cents }),
                            individual_id: id,
                            individual_name: name,
                            discretionary_data: "R".into(),
                            trace: trace(sequence),
                            addenda: addenda
                                .map(|information| Addenda::PaymentRelated { information })
                                .into_iter()
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect();
        let file = AchFile { header: header(), batches };
        let written = file.write().unwrap();
        prop_assert!(written.lines().count().is_multiple_of(10));
        prop_assert_eq!(AchFile::parse(&written).unwrap(), file);
    }
}

/// Found by the fuzzer: a control character in a text field was read, then
/// dropped on writing, which moved the fields after it.
#[test]
fn a_control_character_is_refused_with_its_column() {
    let text = small_file().write().unwrap();
    let changed = with_line(&text, 1, |l| format!("{}\u{0}{}", &l[..19], &l[20..]));
    assert_eq!(
        error_of(&changed),
        "line 1: column 20 holds a character that is not printable ASCII"
    );
}

#[test]
fn writing_what_was_read_gives_the_same_bytes() {
    let text = small_file().write().unwrap();
    // A shorter origin, lower-case names: read as given, written in the
    // banks' form, and from then on the same bytes every time.
    let changed = with_line(&text, 1, |l| format!("{}    123456{}", &l[..13], &l[23..]));
    let changed = with_line(&changed, 4, |l| l.replace("ANA LOPEZ", "ana lopez"));
    let once = AchFile::parse(&changed).unwrap().write().unwrap();
    assert!(once.contains("ANA LOPEZ") && once.starts_with("101 021000021    123456"));
    let twice = AchFile::parse(&once).unwrap().write().unwrap();
    assert_eq!(*once, *twice);
}
