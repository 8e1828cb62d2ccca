//! Did-you-mean: which of some candidate names is close enough to a misspelt one to suggest.

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + (ca != *cb) as usize)
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A suggestion is worth making when at most a third of the longer name differs (and at most
/// two edits): `trian_x` -> `train_x`, but never `w` -> `b`.
pub fn close_enough(d: usize, name: &str, cand: &str) -> bool {
    let len = name.chars().count().max(cand.chars().count());
    d > 0 && d <= 2 && 3 * d <= len
}

/// The closest candidate worth suggesting, if any (ties: the first in sorted order).
pub fn nearest<'a>(name: &str, cands: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut v: Vec<(usize, &str)> = cands
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| close_enough(*d, name, c))
        .collect();
    v.sort();
    v.first().map(|x| x.1)
}
