//! Container image references: every image the Dagger path pulls is pinned by digest, and an
//! image mirror may move them to another registry (the digest keeps the bytes the same).

use std::fmt;

/// A parsed `registry/repository[:tag]@sha256:<hex>` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `docker.io` when the reference names none.
    pub registry: String,
    /// `library/node` for Docker Hub's official images, as registries store them.
    pub repository: String,
    /// Informational only: with a digest present, the engine pulls the digest.
    pub tag: Option<String>,
    /// `sha256:` and 64 lowercase hex digits.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error(
        "image `{image}` is not pinned by digest; write it as `{image}@sha256:<64 hex digits>` (the digest of the multi-platform index, as `docker buildx imagetools inspect {image}` prints it)"
    )]
    NotPinned { image: String },
    #[error(
        "image `{image}` uses the floating tag `latest`; name the version in the tag and pin the digest"
    )]
    Latest { image: String },
    #[error(
        "image `{image}` has a malformed digest `{digest}`; expected `sha256:` and 64 lowercase hex digits"
    )]
    BadDigest { image: String, digest: String },
    #[error("image `{image}` is not a valid image reference: {reason}")]
    Malformed { image: String, reason: &'static str },
    #[error(
        "image mirror `{mirror}` is not a registry such as `registry.example.com` or `registry.example.com:5000/dockerhub`"
    )]
    BadMirror { mirror: String },
}

const DOCKER_HUB: &str = "docker.io";

impl ImageRef {
    /// Parses and checks `reference`: a digest is required, `latest` is refused.
    pub fn parse(reference: &str) -> Result<ImageRef, ImageError> {
        let image = reference.trim();
        let malformed = |reason| ImageError::Malformed {
            image: image.to_owned(),
            reason,
        };
        if image.is_empty() {
            return Err(malformed("it is empty"));
        }
        if image.contains(char::is_whitespace) || image.contains("://") {
            return Err(malformed(
                "it contains whitespace or a URL scheme; write `registry/repository:tag@sha256:...`",
            ));
        }
        let Some((name_and_tag, digest)) = image.split_once('@') else {
            if tag_of(image).is_some_and(|tag| tag == "latest") {
                return Err(ImageError::Latest {
                    image: image.to_owned(),
                });
            }
            return Err(ImageError::NotPinned {
                image: image.to_owned(),
            });
        };
        if !is_sha256_digest(digest) {
            return Err(ImageError::BadDigest {
                image: image.to_owned(),
                digest: digest.to_owned(),
            });
        }
        let tag = tag_of(name_and_tag);
        if tag == Some("latest") {
            return Err(ImageError::Latest {
                image: image.to_owned(),
            });
        }
        if let Some(tag) = tag
            && (tag.is_empty()
                || tag.len() > 128
                || !tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)))
        {
            return Err(malformed("its tag has characters a tag cannot have"));
        }
        let name = match tag {
            Some(tag) => &name_and_tag[..name_and_tag.len() - tag.len() - 1],
            None => name_and_tag,
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if is_registry_host(first) => (first.to_owned(), rest.to_owned()),
            Some(_) => (DOCKER_HUB.to_owned(), name.to_owned()),
            None => (DOCKER_HUB.to_owned(), format!("library/{name}")),
        };
        if repository.is_empty()
            || repository.split('/').any(str::is_empty)
            || !repository
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
        {
            return Err(malformed(
                "its repository must be lowercase letters, digits and `._-/`",
            ));
        }
        Ok(ImageRef {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest: digest.to_owned(),
        })
    }

    /// The same image (same digest) pulled from `mirror` instead of its registry.
    #[must_use]
    pub fn mirrored(&self, mirror: &Mirror) -> ImageRef {
        ImageRef {
            registry: mirror.0.clone(),
            ..self.clone()
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        write!(f, "@{}", self.digest)
    }
}

/// A registry that serves copies of the pinned images, for machines that cannot reach the
/// public registries: `host[:port][/path]`. `docker.io/library/node:22@sha256:..` becomes
/// `host/path/library/node:22@sha256:..`; the digest guarantees the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror(String);

impl Mirror {
    pub fn parse(mirror: &str) -> Result<Mirror, ImageError> {
        let trimmed = mirror.trim().trim_end_matches('/');
        let bad = || ImageError::BadMirror {
            mirror: mirror.to_owned(),
        };
        let host = trimmed.split('/').next().unwrap_or_default();
        if trimmed.contains("://")
            || trimmed.contains(char::is_whitespace)
            || trimmed.contains(['@', '?', '#'])
            || !is_registry_host(host)
            || trimmed.split('/').skip(1).any(str::is_empty)
        {
            return Err(bad());
        }
        Ok(Mirror(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The tag of `name[:tag]`: the part after a `:` that comes after the last `/`.
fn tag_of(name: &str) -> Option<&str> {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.rsplit_once(':').map(|(_, tag)| tag)
}

/// Docker's rule: the first component names a registry when it has a `.` or a `:`, or is
/// `localhost`.
fn is_registry_host(component: &str) -> bool {
    !component.is_empty()
        && (component.contains('.') || component.contains(':') || component == "localhost")
        && component
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
}

fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46";

    #[test]
    fn parses_pinned_references_and_normalises_docker_hub() {
        let image = ImageRef::parse(&format!("node:22.23.2-bookworm-slim@{DIGEST}")).unwrap();
        assert_eq!(image.registry, "docker.io");
        assert_eq!(image.repository, "library/node");
        assert_eq!(image.tag.as_deref(), Some("22.23.2-bookworm-slim"));
        assert_eq!(
            image.to_string(),
            format!("docker.io/library/node:22.23.2-bookworm-slim@{DIGEST}")
        );

        let image = ImageRef::parse(&format!("ghcr.io/acme/tools@{DIGEST}")).unwrap();
        assert_eq!(
            (
                image.registry.as_str(),
                image.repository.as_str(),
                image.tag
            ),
            ("ghcr.io", "acme/tools", None)
        );
        let image = ImageRef::parse(&format!("localhost:5000/team/app:1.2@{DIGEST}")).unwrap();
        assert_eq!(image.registry, "localhost:5000");
        assert_eq!(image.repository, "team/app");
        let image = ImageRef::parse(&format!("oven/bun:1.4.5@{DIGEST}")).unwrap();
        assert_eq!(
            image.to_string(),
            format!("docker.io/oven/bun:1.4.5@{DIGEST}")
        );
    }

    #[test]
    fn refuses_floating_references() {
        let cases: Vec<(String, &str)> = vec![
            ("node".into(), "is not pinned by digest"),
            ("node:22".into(), "is not pinned by digest"),
            (
                "docker.io/library/node:22-bookworm-slim".into(),
                "is not pinned by digest",
            ),
            ("localhost:5000/app".into(), "is not pinned by digest"),
            ("node:latest".into(), "floating tag `latest`"),
            (format!("node:latest@{DIGEST}"), "floating tag `latest`"),
            (
                "node:22@sha256:1234".into(),
                "malformed digest `sha256:1234`",
            ),
            (
                format!("node:22@{}", DIGEST.to_uppercase()),
                "malformed digest",
            ),
            (format!("node:22@md5:{}", &DIGEST[7..]), "malformed digest"),
            (format!("Node:22@{DIGEST}"), "lowercase"),
            (format!("https://docker.io/node@{DIGEST}"), "URL scheme"),
            (String::new(), "is empty"),
        ];
        for (reference, expected) in cases {
            let error = ImageRef::parse(&reference).unwrap_err().to_string();
            assert!(error.contains(expected), "{reference}: {error}");
        }
    }

    #[test]
    fn a_mirror_replaces_the_registry_and_keeps_the_digest() {
        let image = ImageRef::parse(&format!("node:22.23.2-bookworm-slim@{DIGEST}")).unwrap();
        let mirror = Mirror::parse("registry.internal:5000/dockerhub/").unwrap();
        assert_eq!(
            image.mirrored(&mirror).to_string(),
            format!("registry.internal:5000/dockerhub/library/node:22.23.2-bookworm-slim@{DIGEST}")
        );
        for bad in [
            "https://registry.internal",
            "registry",
            "",
            "registry.internal//x",
            "a b.c",
        ] {
            assert!(Mirror::parse(bad).is_err(), "{bad}");
        }
    }
}
