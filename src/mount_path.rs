//! Mount and device paths as the kernel resolves them: `/etc/app/`,
//! `//etc/app`, `/etc/./app` and `/etc/x/../app` name one directory. The
//! API server compares them as strings (`ValidateVolumeMounts`), so two
//! spellings pass it and then collide in the container: the policy
//! compares them cleaned, as Go's `path.Clean` does.

/// `path` cleaned: no empty or `.` element, `..` applied (at the root it
/// stays there), no trailing `/`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Whether `path` is as [`clean`] leaves it: most are, and need no copy.
fn is_clean(path: &str) -> bool {
    let rest = path.strip_prefix('/').unwrap_or(path);
    path == "/" || !rest.is_empty() && !rest.split('/').any(|p| matches!(p, "" | "." | ".."))
}

/// Whether `a` and `b` name the same place.
pub fn same(a: &str, b: &str) -> bool {
    a == b || !(is_clean(a) && is_clean(b)) && clean(a) == clean(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/", true)]
    #[case("/etc/app", true)]
    #[case("etc", true)]
    #[case("", false)]
    #[case("/etc/app/", false)]
    #[case("//etc", false)]
    #[case("/etc/./app", false)]
    #[case("/etc/../app", false)]
    #[case("..", false)]
    fn clean_paths_are_recognized(#[case] path: &str, #[case] expected: bool) {
        assert_eq!(is_clean(path), expected);
        // Never a false "clean" (a false "not clean" only costs a copy).
        assert!(!is_clean(path) || clean(path) == path, "{path}");
    }

    #[rstest]
    #[case("/etc/app", "/etc/app")]
    #[case("/etc/app/", "/etc/app")]
    #[case("//etc/app", "/etc/app")]
    #[case("/etc/./app", "/etc/app")]
    #[case("/etc/x/../app", "/etc/app")]
    #[case("/../etc", "/etc")]
    #[case("/", "/")]
    #[case("a/../../b", "../b")]
    #[case("", ".")]
    fn paths_clean_as_go_cleans_them(#[case] path: &str, #[case] cleaned: &str) {
        assert_eq!(clean(path), cleaned);
    }

    #[test]
    fn spellings_of_one_directory_are_the_same() {
        assert!(same("/etc/app/", "/etc/x/../app"));
        assert!(!same("/etc/app", "/etc/apps"));
    }
}
