//! Typo-tolerant search of the catalogue by exercise name (`GET /v1/exercises?q=…`).
//!
//! Every word of the query must match a word of the name: exactly, as its beginning (`squ` finds
//! `squat`), or within a few typos (Levenshtein distance 1 for words of 4–7 letters, 2 from 8 on;
//! shorter words must be exact or a prefix, or `row` would find `low`). Matches rank by their summed
//! cost (exact < prefix < typo), then shorter names first (`Barbell Squat` before `Barbell Squat To
//! A Bench`), then by id. The catalogue's name words are indexed once: a query compares each of its
//! words with the ~700 distinct name words, not with every name, which keeps a search well under a
//! millisecond.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::catalogue::{Catalogue, Exercise};

/// The words of every name, each distinct word once.
struct Index {
    /// Distinct name words, as characters (compared letter by letter).
    words: Vec<Vec<char>>,
    /// Per exercise (in catalogue order), the indices of its name's words in `words`.
    names: Vec<Vec<usize>>,
}

impl Index {
    fn get() -> &'static Index {
        static INDEX: OnceLock<Index> = OnceLock::new();
        INDEX.get_or_init(|| {
            let mut positions: HashMap<String, usize> = HashMap::new();
            let mut words = Vec::new();
            let names = Catalogue::get()
                .all()
                .iter()
                .map(|exercise| {
                    tokens(&exercise.name)
                        .map(|word| {
                            *positions.entry(word).or_insert_with_key(|word| {
                                words.push(word.chars().collect());
                                words.len() - 1
                            })
                        })
                        .collect()
                })
                .collect();
            Index { words, names }
        })
    }
}

/// The lower-case alphanumeric words of a text.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// Typos a query word of this many characters may carry.
fn typos_allowed(chars: usize) -> usize {
    match chars {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// What matching `query` (one word) against `word` costs, or `None` when it does not match.
fn cost(query: &[char], word: &[char]) -> Option<usize> {
    if word == query {
        return Some(0);
    }
    if word.starts_with(query) {
        return Some(1);
    }
    let allowed = typos_allowed(query.len());
    if allowed == 0 {
        return None;
    }
    let whole = (word.len().abs_diff(query.len()) <= allowed)
        .then(|| levenshtein(query, word))
        .filter(|&d| d <= allowed)
        .map(|d| 2 + d);
    // A misspelt beginning (`sqaut` of `squats`): the word's first letters, within the typos.
    let start = (word.len() > query.len())
        .then(|| levenshtein(query, &word[..query.len()]))
        .filter(|&d| d <= allowed)
        .map(|d| 3 + d);
    whole.into_iter().chain(start).min()
}

/// Edit distance (insertions, deletions, substitutions).
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The exercises whose names match `query`, best first (see the module's rules). A query with no
/// words matches every exercise, in id order.
pub fn search(query: &str) -> Vec<&'static Exercise> {
    let catalogue = Catalogue::get();
    let index = Index::get();
    let query: Vec<Vec<char>> = tokens(query).map(|w| w.chars().collect()).collect();
    if query.is_empty() {
        return catalogue.all().iter().collect();
    }
    // Each query word against each distinct name word, once.
    let costs: Vec<Vec<Option<usize>>> = query
        .iter()
        .map(|q| index.words.iter().map(|word| cost(q, word)).collect())
        .collect();
    let mut hits: Vec<(usize, usize, &Exercise)> = catalogue
        .all()
        .iter()
        .zip(&index.names)
        .filter_map(|(exercise, name)| {
            let total = costs.iter().try_fold(0, |total, per_word| {
                let best = name.iter().filter_map(|&w| per_word[w]).min()?;
                Some(total + best)
            })?;
            Some((total, exercise.name.len(), exercise))
        })
        .collect();
    hits.sort_by(|a, b| (a.0, a.1, &a.2.id).cmp(&(b.0, b.1, &b.2.id)));
    hits.into_iter().map(|(.., exercise)| exercise).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(query: &str) -> Vec<&'static str> {
        search(query).iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn exact_words_rank_first_and_shorter_names_lead() {
        let found = ids("barbell squat");
        assert_eq!(found.first(), Some(&"barbell-squat"), "{found:?}");
        assert!(found.len() > 3);
        // Every hit names both words (or their beginnings).
        for e in search("barbell squat") {
            let name = e.name.to_lowercase();
            assert!(name.contains("barbell") && name.contains("squat"), "{name}");
        }
    }

    #[test]
    fn typos_and_prefixes_are_forgiven() {
        assert_eq!(ids("barbel sqat").first(), Some(&"barbell-squat"));
        assert_eq!(ids("Barbell  SQUAT!").first(), Some(&"barbell-squat"));
        assert!(
            ids("dumbel").iter().all(|id| id.contains("dumbbell")),
            "{:?}",
            ids("dumbel")
        );
        assert!(ids("bench pres").contains(&"barbell-bench-press-medium-grip"));
        assert!(ids("deadl").iter().any(|id| id.contains("deadlift")));
    }

    #[test]
    fn short_words_need_their_exact_letters_and_nonsense_finds_nothing() {
        // "row" with one typo would be "low", "bow", "raw": short words are exact or a prefix.
        assert!(
            search("row")
                .iter()
                .all(|e| e.name.to_lowercase().contains("row"))
        );
        assert!(ids("xyzzy quux").is_empty());
        assert_eq!(search("").len(), Catalogue::get().all().len());
    }

    #[test]
    fn distance_counts_edits() {
        let d = |a: &str, b: &str| {
            levenshtein(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("squat", "squat"), 0);
        assert_eq!(d("sqat", "squat"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("", "abc"), 3);
    }
}
