//! How a host compiles: the profile, target, variables and environment, from flags and the
//! process, with one meaning for every host.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;

/// The compile options of a host. Hosts fill it from their flags ([`Options::new`] adds the
/// process's environment); tests build it directly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--profiles-dir` or `$MBT_PROFILES_DIR`: where profiles.yaml must be. Empty means unset.
    pub profiles_dir: Option<PathBuf>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--target` or `$MBT_TARGET`. Empty means unset.
    pub target: Option<String>,
    /// `--vars k=v`.
    pub vars: BTreeMap<String, String>,
    /// The environment `env_var()` reads (a snapshot).
    pub env: BTreeMap<String, String>,
    /// `$HOME`, for `~/.mbt/profiles.yaml`.
    pub home: Option<PathBuf>,
    /// Record which queries execute (incrementality tests and benchmarks).
    pub query_log: bool,
}

impl Options {
    /// Options from flag values (clap fills `profiles_dir` and `target` from their environment
    /// variables), with the process's environment and home. Empty values count as unset.
    pub fn new(
        profiles_dir: Option<String>,
        profile: Option<String>,
        target: Option<String>,
        vars: &[String],
    ) -> anyhow::Result<Options> {
        let non_empty = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
        Ok(Options {
            profiles_dir: non_empty(profiles_dir).map(PathBuf::from),
            profile: non_empty(profile),
            target: non_empty(target),
            vars: parse_vars(vars)?,
            env: std::env::vars().collect(),
            home: std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(PathBuf::from),
            query_log: false,
        })
    }
}

/// `--vars` values: `k=v` pairs, comma-separated or repeated.
pub fn parse_vars(values: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    for pair in values.iter().flat_map(|text| text.split(',')) {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--vars expects KEY=VALUE pairs, got `{pair}`");
        };
        vars.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_unset_and_vars_split() {
        let options = Options::new(
            Some(String::new()),
            None,
            Some(" ".into()),
            &["a=1,b=2".into(), "c = 3".into()],
        )
        .unwrap();
        assert_eq!(options.profiles_dir, None);
        assert_eq!(options.target, None);
        assert_eq!(options.vars.len(), 3);
        assert_eq!(options.vars["c"], "3");
        assert!(parse_vars(&["nope".into()]).is_err());
    }
}
