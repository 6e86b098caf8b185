//! The web console: readable ES modules, a stylesheet and one vendored library, compiled
//! into the binary so `nacosd` serves its console with nothing else installed and no
//! network. The HTTP adapter serves [`asset`] under `/nacos/`; the pages call the same
//! Nacos HTTP API that scripts and SDKs use.

/// One file of the console.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        /// Every asset by its path under `assets/`.
        const ASSETS: &[(&str, &[u8])] = &[$(($path, include_bytes!(concat!("../assets/", $path)))),*];
    };
}

assets!(
    "index.html",
    "style.css",
    "app.js",
    "api.js",
    "ui.js",
    "diff.js",
    "highlight.js",
    "pages/login.js",
    "pages/overview.js",
    "pages/namespaces.js",
    "pages/configs.js",
    "pages/config_edit.js",
    "pages/history.js",
    "pages/listeners.js",
    "pages/transfer.js",
    "pages/services.js",
    "pages/service_detail.js",
    "pages/cluster.js",
    "pages/users.js",
    "vendor/js-yaml.mjs",
    "vendor/js-yaml.LICENSE",
);

/// The asset at `path` (relative, as in `pages/configs.js`); `""` is the page itself.
pub fn asset(path: &str) -> Option<Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|(name, _)| *name == path).map(|(name, bytes)| Asset { bytes, content_type: content_type(name) })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map_or("", |(_, extension)| extension) {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to `assets/` but not to the list would be missing from the binary.
    #[test]
    fn every_file_in_assets_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    on_disk.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|(name, _)| (*name).to_owned()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn the_page_and_its_modules_are_served_with_their_types() {
        assert!(asset("").unwrap().content_type.starts_with("text/html"));
        assert!(asset("app.js").unwrap().content_type.starts_with("text/javascript"));
        assert!(asset("vendor/js-yaml.mjs").is_some());
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("nope.js").is_none());
    }
}
