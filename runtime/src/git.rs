//! The commit a project is at, for run records (MLflow's `mlflow.source.git.commit`): read from
//! `.git` directly (no `git` process), in the project folder or the nearest one above it.

use std::path::Path;

/// The full hash `HEAD` points at, when the project is in a git work tree with a commit.
pub fn head_commit(project: &Path) -> Option<String> {
    let project = project.canonicalize().ok()?;
    let git = project
        .ancestors()
        .map(|folder| folder.join(".git"))
        .find(|git| git.exists())?;
    // A worktree or submodule: `.git` is a file `gitdir: PATH`.
    let git = if git.is_file() {
        let text = std::fs::read_to_string(&git).ok()?;
        let target = text.strip_prefix("gitdir:")?.trim();
        git.parent()?.join(target)
    } else {
        git
    };
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:") else {
        return is_hash(head).then(|| head.to_string());
    };
    let reference = reference.trim();
    if let Ok(hash) = std::fs::read_to_string(git.join(reference)) {
        let hash = hash.trim();
        return is_hash(hash).then(|| hash.to_string());
    }
    // Packed refs: `<hash> <ref>` lines.
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (hash, name) = line.split_once(' ')?;
        (name == reference && is_hash(hash)).then(|| hash.to_string())
    })
}

fn is_hash(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::head_commit;

    #[test]
    fn head_is_read_from_loose_and_packed_refs_and_detached_heads() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(project.join("sub")).unwrap();
        assert_eq!(head_commit(&project), None);
        let git = project.join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        let hash = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(
            git.join("packed-refs"),
            format!("# pack-refs with: peeled\n{hash} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(head_commit(&project.join("sub")).as_deref(), Some(hash));
        let loose = "fedcba9876543210fedcba9876543210fedcba98";
        std::fs::write(git.join("refs/heads/main"), format!("{loose}\n")).unwrap();
        assert_eq!(head_commit(&project).as_deref(), Some(loose));
        std::fs::write(git.join("HEAD"), format!("{hash}\n")).unwrap();
        assert_eq!(head_commit(&project).as_deref(), Some(hash));
    }
}
