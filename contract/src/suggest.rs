//! "Did you mean ...?" suggestions by edit distance.

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input_lower = input.to_lowercase();
    candidates
        .into_iter()
        .filter(|candidate| *candidate != input)
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&input_lower, &candidate.to_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, candidate)| {
            let longest = input.chars().count().max(candidate.chars().count());
            *distance <= (longest / 3).max(1) || candidate.to_lowercase() == input_lower
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, candidate)| candidate)
}

/// A help line: "did you mean `x`?" when a close candidate exists, else the list of valid values.
pub fn did_you_mean(input: &str, candidates: &[&str]) -> String {
    match suggest(input, candidates.iter().copied()) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => format!("expected one of: {}", list(candidates)),
    }
}

fn list(candidates: &[&str]) -> String {
    const SHOWN: usize = 12;
    let mut text = candidates
        .iter()
        .take(SHOWN)
        .map(|candidate| format!("`{candidate}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if candidates.len() > SHOWN {
        text.push_str(&format!(" (and {} more)", candidates.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["evaluation", "split", "schema"];
        assert_eq!(suggest("evaluaton", keys), Some("evaluation"));
        assert_eq!(suggest("xyz", keys), None);
        assert_eq!(did_you_mean("splt", &keys), "did you mean `split`?");
        assert_eq!(
            did_you_mean("qqqqqq", &keys),
            "expected one of: `evaluation`, `split`, `schema`"
        );
    }
}
