//! Who must be told after a card page was tampered with: the people behind
//! the card attempts in scope, each counted once. Two attempts are the same
//! person when they share an e-mail address, or the same name at the same
//! postal address; nothing looser, so nobody is written to twice and nobody
//! is told about someone else's payment.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One attempt in scope, as the incident tools need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeAttempt {
    pub name: String,
    pub postal_address: String,
    pub email: Option<String>,
    pub language: String,
    pub channel: String,
    pub card: Option<String>,
    pub at: jiff::Timestamp,
    pub elements: Vec<String>,
}

/// One person to notify, with what they typed into the affected page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPerson {
    pub name: String,
    pub postal_address: String,
    pub email: Option<String>,
    pub language: String,
    pub attempts: u64,
    pub cards: BTreeSet<String>,
    pub channels: BTreeSet<String>,
    pub data_elements: BTreeSet<String>,
    pub first: jiff::Timestamp,
    pub last: jiff::Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSummary {
    pub people: u64,
    pub attempts: u64,
    pub first: Option<jiff::Timestamp>,
    pub last: Option<jiff::Timestamp>,
    pub attempts_per_channel: BTreeMap<String, u64>,
    pub people_per_channel: BTreeMap<String, u64>,
    pub data_elements: BTreeSet<String>,
}

fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Groups attempts into people as they stream past; memory grows with the
/// number of people, not attempts.
#[derive(Debug, Default)]
pub struct PeopleIndex {
    keys: HashMap<String, usize>,
    parent: Vec<usize>,
    people: Vec<Option<AffectedPerson>>,
    attempts: u64,
}

impl PeopleIndex {
    fn root(&mut self, mut i: usize) -> usize {
        while let Some(&p) = self.parent.get(i) {
            if p == i {
                break;
            }
            let grand = self.parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = self.parent.get_mut(i) {
                *slot = grand;
            }
            i = p;
        }
        i
    }

    fn merge_into(into: &mut AffectedPerson, from: AffectedPerson) {
        into.attempts += from.attempts;
        into.cards.extend(from.cards);
        into.channels.extend(from.channels);
        into.data_elements.extend(from.data_elements);
        into.first = into.first.min(from.first);
        into.last = into.last.max(from.last);
        if into.email.is_none() {
            into.email = from.email;
        }
    }

    /// The index of the person this attempt belongs to, merging two known
    /// people when the attempt shows they are one. A known person is
    /// updated in place, so a repeat attempt allocates nothing new.
    pub fn add(&mut self, attempt: ScopeAttempt) -> usize {
        self.attempts += 1;
        let name_key = format!(
            "n:{}|{}",
            normalise(&attempt.name),
            normalise(&attempt.postal_address)
        );
        let email_key = attempt
            .email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .map(|e| format!("e:{}", normalise(e)));
        let mut roots: Vec<usize> = [Some(&name_key), email_key.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|k| self.keys.get(k).copied())
            .collect();
        for r in &mut roots {
            *r = self.root(*r);
        }
        roots.sort_unstable();
        roots.dedup();
        let target = match roots.first() {
            Some(&r) => r,
            None => {
                self.parent.push(self.people.len());
                self.people.push(Some(AffectedPerson {
                    name: attempt.name.trim().to_owned(),
                    postal_address: attempt.postal_address.trim().to_owned(),
                    email: attempt.email.clone().filter(|e| !e.trim().is_empty()),
                    language: attempt.language.clone(),
                    attempts: 0,
                    cards: BTreeSet::new(),
                    channels: BTreeSet::new(),
                    data_elements: BTreeSet::new(),
                    first: attempt.at,
                    last: attempt.at,
                }));
                self.people.len() - 1
            }
        };
        for &other in roots.iter().skip(1) {
            let taken = self.people.get_mut(other).and_then(Option::take);
            if let (Some(from), Some(Some(into))) = (taken, self.people.get_mut(target)) {
                Self::merge_into(into, from);
            }
            if let Some(slot) = self.parent.get_mut(other) {
                *slot = target;
            }
        }
        if let Some(Some(person)) = self.people.get_mut(target) {
            person.attempts += 1;
            person.first = person.first.min(attempt.at);
            person.last = person.last.max(attempt.at);
            if person.email.is_none() {
                person.email = attempt.email.filter(|e| !e.trim().is_empty());
            }
            if let Some(card) = attempt.card
                && !person.cards.contains(&card)
            {
                person.cards.insert(card);
            }
            if !person.channels.contains(&attempt.channel) {
                person.channels.insert(attempt.channel);
            }
            for e in attempt.elements {
                if !person.data_elements.contains(&e) {
                    person.data_elements.insert(e);
                }
            }
        }
        self.keys.entry(name_key).or_insert(target);
        if let Some(k) = email_key {
            self.keys.entry(k).or_insert(target);
        }
        target
    }

    /// The people, oldest first contact first, and the summary.
    pub fn finish(self) -> (Vec<AffectedPerson>, ScopeSummary) {
        let mut people: Vec<AffectedPerson> = self.people.into_iter().flatten().collect();
        people.sort_by(|a, b| a.first.cmp(&b.first).then_with(|| a.name.cmp(&b.name)));
        let mut summary = ScopeSummary {
            people: people.len() as u64,
            attempts: self.attempts,
            ..ScopeSummary::default()
        };
        for p in &people {
            summary.first = Some(summary.first.map_or(p.first, |f| f.min(p.first)));
            summary.last = Some(summary.last.map_or(p.last, |l| l.max(p.last)));
            for c in &p.channels {
                *summary.people_per_channel.entry(c.clone()).or_default() += 1;
            }
            summary
                .data_elements
                .extend(p.data_elements.iter().cloned());
        }
        (people, summary)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn attempt(name: &str, address: &str, email: Option<&str>, at: i64) -> ScopeAttempt {
        ScopeAttempt {
            name: name.into(),
            postal_address: address.into(),
            email: email.map(Into::into),
            language: "en".into(),
            channel: "web".into(),
            card: Some("Visa 4242".into()),
            at: jiff::Timestamp::from_second(at).unwrap(),
            elements: vec!["name".into(), "card_number".into()],
        }
    }

    #[test]
    fn people_are_merged_by_email_or_by_name_and_address_only() {
        let mut index = PeopleIndex::default();
        let ana = index.add(attempt("Ana Diaz", "1 Elm St", Some("ana@example.org"), 10));
        // Same e-mail, typed differently, from another address: same person.
        assert_eq!(
            index.add(attempt("A. Diaz", "PO Box 4", Some(" ANA@example.org"), 20)),
            ana
        );
        // Same name and address, no e-mail: same person.
        assert_eq!(index.add(attempt("ana  diaz", "1 elm st", None, 30)), ana);
        // Same address, another name (a household): another person.
        let bo = index.add(attempt("Bo Diaz", "1 Elm St", None, 40));
        assert_ne!(bo, ana);
        let (people, summary) = index.finish();
        assert_eq!((summary.people, summary.attempts), (2, 4));
        assert_eq!(people[0].attempts, 3);
        assert_eq!(people[0].first.as_second(), 10);
        assert_eq!(people[0].last.as_second(), 30);
        assert_eq!(summary.people_per_channel["web"], 2);
    }

    #[test]
    fn an_attempt_can_show_two_people_are_one() {
        let mut index = PeopleIndex::default();
        let by_email = index.add(attempt("Cy Roy", "3 Oak Dr", Some("cy@example.org"), 1));
        let by_address = index.add(attempt("Cy Roy", "9 Pine Rd", None, 2));
        assert_ne!(by_email, by_address);
        // The same e-mail at the second address joins them.
        index.add(attempt("Cy Roy", "9 Pine Rd", Some("cy@example.org"), 3));
        let (people, summary) = index.finish();
        assert_eq!(summary.people, 1, "{people:?}");
        assert_eq!(people[0].attempts, 3);
    }
}
