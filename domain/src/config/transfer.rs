//! Moving configs between namespaces and installations: Nacos's export archive (a zip of
//! `group/dataId` entries with a metadata file), its import with a same-config policy, and
//! clone.
//!
//! The zip and YAML codecs live in the HTTP adapter; the rules about which entries are
//! configs, what the metadata must say, what a bad archive is and what each policy does
//! with a config that already exists live here, so every entry point shares them.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Config, ConfigDetails, ConfigError, ConfigKey, ConfigLimits, ConfigMeta, ConfigType, Namespace};
use super::{PublishConfig, PublishParams};

/// The v1 layout's metadata file: `group.dataId~ext.app=appName` lines.
pub const META_V1: &str = ".meta.yml";
/// The v2 layout's metadata file: a YAML list of [`MetadataItem`]s.
pub const META_V2: &str = ".metadata.yml";

/// The most entries an archive may hold, metadata included.
pub const MAX_ARCHIVE_ENTRIES: usize = 10_000;
/// The most bytes an archive may expand to: bounds what one import holds in memory, so a
/// small zip that expands to gigabytes (a bomb) is refused rather than unpacked.
pub const MAX_ARCHIVE_EXPANDED_BYTES: u64 = 64 * 1024 * 1024;

/// Which metadata file an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveLayout {
    /// `export=true`: `.meta.yml`, app names only, written only when some config has one.
    V1,
    /// `exportV2=true` (and the console): `.metadata.yml` with type, description and app.
    V2,
}

/// One file of an archive, by its name inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    pub name: String,
    pub content: Vec<u8>,
}

/// One item of `.metadata.yml`, as the adapter's YAML codec reads and writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataItem {
    pub group: Option<String>,
    pub data_id: Option<String>,
    pub config_type: Option<String>,
    pub desc: Option<String>,
    pub app_name: Option<String>,
}

/// The metadata an archive carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveMetadata {
    None,
    /// `.meta.yml`'s text.
    V1(String),
    /// `.metadata.yml`'s items.
    V2(Vec<MetadataItem>),
}

/// What an archive holds, ready to import: its configs, and the names of entries that are
/// not configs (reported back to the user, never imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSet {
    pub configs: Vec<PublishConfig>,
    pub unrecognized: Vec<String>,
}

/// Why an import or a clone was refused as a whole; nothing of it was written. Each maps
/// to one of Nacos's `ResultCodeEnum` codes ([`TransferError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("namespace '{0}' does not exist")]
    NoNamespace(String),
    #[error("the metadata file is illegal: {0}")]
    BadMetadata(String),
    #[error("the archive holds no config to import")]
    NoData,
    #[error("the archive could not be read: {0}")]
    BadArchive(String),
    #[error("no file was uploaded, or it is empty")]
    EmptyFile,
    #[error("no config was selected")]
    NothingSelected,
}

impl TransferError {
    /// Nacos's `ResultCodeEnum` code for the refusal (answered with HTTP 200, as Nacos does).
    pub fn code(&self) -> u32 {
        match self {
            Self::NoNamespace(_) => 100_001,
            Self::BadMetadata(_) => 100_002,
            Self::NoData => 100_003,
            Self::BadArchive(_) => 100_004,
            Self::EmptyFile => 100_005,
            Self::NothingSelected => 100_006,
        }
    }
}

/// Refuses an entry name that could point outside the archive when unpacked, or that no
/// Nacos export writes: an absolute path, a `..` or `.` component, a backslash, a NUL.
pub fn check_entry_name(name: &str) -> Result<(), TransferError> {
    let bad = name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').any(|part| part == ".." || part == ".");
    if bad {
        return Err(TransferError::BadArchive(format!("entry '{name}' points outside the archive")));
    }
    Ok(())
}

/// Reads an archive's files (directories already left out) into the configs to import
/// into `namespace`. Any file that breaks a config rule (too large, not UTF-8, an invalid
/// group or data id) refuses the whole archive, so an import is never half-understood.
pub fn read_archive(
    files: Vec<ArchiveFile>,
    metadata: ArchiveMetadata,
    namespace: &Namespace,
    limits: ConfigLimits,
) -> Result<ImportSet, TransferError> {
    let files: Vec<ArchiveFile> = files.into_iter().filter(|file| !is_metadata(&file.name)).collect();
    let set = match metadata {
        ArchiveMetadata::V2(items) => read_v2(files, items, namespace, limits)?,
        ArchiveMetadata::V1(text) => read_v1(files, &parse_meta_v1(&text)?, namespace, limits)?,
        ArchiveMetadata::None => read_v1(files, &HashMap::new(), namespace, limits)?,
    };
    if set.configs.is_empty() {
        return Err(TransferError::NoData);
    }
    Ok(set)
}

fn is_metadata(name: &str) -> bool {
    name == META_V1 || name == META_V2
}

fn read_v1(
    files: Vec<ArchiveFile>,
    apps: &HashMap<String, String>,
    namespace: &Namespace,
    limits: ConfigLimits,
) -> Result<ImportSet, TransferError> {
    let mut set = ImportSet { configs: Vec::new(), unrecognized: Vec::new() };
    for file in files {
        let Some((group, data_id)) = split_entry(&file.name) else {
            set.unrecognized.push(file.name);
            continue;
        };
        let app = apps.get(&v1_meta_key(group, data_id)).map(String::as_str);
        let config = publish(namespace, group, data_id, &file, None, None, app, limits)?;
        set.configs.push(config);
    }
    Ok(set)
}

fn read_v2(
    files: Vec<ArchiveFile>,
    items: Vec<MetadataItem>,
    namespace: &Namespace,
    limits: ConfigLimits,
) -> Result<ImportSet, TransferError> {
    // Each described config by its entry name, with the group and data id it checked.
    let mut described: BTreeMap<String, (String, String, MetadataItem)> = BTreeMap::new();
    for item in items {
        let (Some(group), Some(data_id), Some(_)) = (item.group.clone(), item.data_id.clone(), &item.config_type)
        else {
            return Err(TransferError::BadMetadata("every item needs dataId, group and type".to_owned()));
        };
        described.insert(format!("{group}/{data_id}"), (group, data_id, item));
    }
    let mut set = ImportSet { configs: Vec::new(), unrecognized: Vec::new() };
    let mut found = HashSet::new();
    for file in files {
        let Some((group, data_id, item)) = described.get(&file.name) else {
            set.unrecognized.push(format!("not found in metadata: {}", file.name));
            continue;
        };
        found.insert(file.name.clone());
        let config = publish(
            namespace,
            group,
            data_id,
            &file,
            item.config_type.as_deref(),
            item.desc.as_deref(),
            item.app_name.as_deref(),
            limits,
        )?;
        set.configs.push(config);
    }
    // Java reports these and imports the rest; a metadata file that describes configs
    // the archive lacks is a damaged archive, so nothing of it is imported.
    if let Some(missing) = described.keys().find(|name| !found.contains(*name)) {
        return Err(TransferError::BadMetadata(format!("it describes {missing}, which the archive does not hold")));
    }
    Ok(set)
}

/// `group/dataId`, exactly one `/`, neither part empty.
fn split_entry(name: &str) -> Option<(&str, &str)> {
    let (group, data_id) = name.split_once('/')?;
    (!group.is_empty() && !data_id.is_empty() && !data_id.contains('/')).then_some((group, data_id))
}

/// `.meta.yml`'s lines: `key=value`, blank lines ignored; anything else refuses the file.
fn parse_meta_v1(text: &str) -> Result<HashMap<String, String>, TransferError> {
    let mut apps = HashMap::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let Some((key, value)) = line.split_once('=') else {
            return Err(TransferError::BadMetadata(format!("line '{line}' is not key=value")));
        };
        apps.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    Ok(apps)
}

/// The v1 metadata key of a config: `group.dataId.app` with the data id's last `.`
/// written `~` (`DEFAULT_GROUP.app~yaml.app`), as Java Nacos writes it.
fn v1_meta_key(group: &str, data_id: &str) -> String {
    let data_id = match data_id.rfind('.') {
        Some(dot) => format!("{}~{}", &data_id[..dot], &data_id[dot + 1..]),
        None => data_id.to_owned(),
    };
    format!("{group}.{data_id}.app")
}

#[allow(clippy::too_many_arguments)]
fn publish(
    namespace: &Namespace,
    group: &str,
    data_id: &str,
    file: &ArchiveFile,
    config_type: Option<&str>,
    desc: Option<&str>,
    app_name: Option<&str>,
    limits: ConfigLimits,
) -> Result<PublishConfig, TransferError> {
    let content = std::str::from_utf8(&file.content)
        .map_err(|_| TransferError::BadArchive(format!("entry '{}' is not UTF-8 text", file.name)))?;
    let config_type = config_type.map(str::to_owned).unwrap_or_else(|| type_by_extension(data_id).to_owned());
    let params = PublishParams {
        namespace: Some(namespace.as_str()),
        group: Some(group),
        data_id: Some(data_id),
        content: Some(content),
        config_type: Some(&config_type),
        desc,
        app_name,
        ..PublishParams::default()
    };
    PublishConfig::parse(&params, limits).map_err(|err| match err {
        ConfigError::Missing("content") => TransferError::BadArchive(format!("entry '{}' is empty", file.name)),
        err => TransferError::BadArchive(format!("entry '{}': {err}", file.name)),
    })
}

/// A v1 archive carries no types: guess from the data id's extension, as the console does.
fn type_by_extension(data_id: &str) -> &'static str {
    let extension = data_id.rsplit_once('.').map_or("", |(_, extension)| extension);
    match ConfigType::parse(extension) {
        ConfigType::Text | ConfigType::Unset => match extension.to_ascii_lowercase().as_str() {
            "yml" => "yaml",
            _ => "text",
        },
        known => known.as_str(),
    }
}

/// What to do with a config the target already holds (Nacos's `SameConfigPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameConfigPolicy {
    /// Import nothing when any config exists; the existing ones are reported as failed.
    /// (Java Nacos keeps what it imported before the first conflict; we check them all
    /// first, so an aborted import changes nothing.)
    #[default]
    Abort,
    /// Leave existing configs alone and report them skipped.
    Skip,
    /// Replace existing configs.
    Overwrite,
}

impl SameConfigPolicy {
    /// `ABORT`, `SKIP` or `OVERWRITE` (any case); blank is the default, `ABORT`.
    pub fn parse(raw: Option<&str>) -> Result<Self, ConfigError> {
        match raw.map(str::trim).unwrap_or("").to_ascii_uppercase().as_str() {
            "" | "ABORT" => Ok(Self::Abort),
            "SKIP" => Ok(Self::Skip),
            "OVERWRITE" => Ok(Self::Overwrite),
            _ => Err(ConfigError::Invalid { param: "policy", reason: "not ABORT, SKIP or OVERWRITE" }),
        }
    }

    /// The publishes an import of `configs` makes, given which keys exist now. Each
    /// publish that must not replace a config carries "absent" as its compare-and-swap
    /// condition, so a config created while the import runs is never overwritten.
    pub fn plan(self, configs: Vec<PublishConfig>, exists: impl Fn(&ConfigKey) -> bool) -> ImportPlan {
        let mut plan = ImportPlan::default();
        if self == Self::Abort && configs.iter().any(|config| exists(&config.key)) {
            for config in configs {
                match exists(&config.key) {
                    true => plan.failed.push(config.key),
                    false => plan.skipped.push(config.key),
                }
            }
            return plan;
        }
        for mut config in configs {
            match self {
                Self::Overwrite => config.cas_md5 = None,
                Self::Skip if exists(&config.key) => {
                    plan.skipped.push(config.key);
                    continue;
                }
                Self::Skip | Self::Abort => config.cas_md5 = Some(String::new()),
            }
            plan.publish.push(config);
        }
        plan
    }

    /// A planned publish found its config created meanwhile: whether the rest of the
    /// import stops (`ABORT`) or goes on.
    pub fn stops_on_conflict(self) -> bool {
        self == Self::Abort
    }
}

/// An import's publishes, and the configs it leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPlan {
    pub publish: Vec<PublishConfig>,
    pub failed: Vec<ConfigKey>,
    pub skipped: Vec<ConfigKey>,
}

/// What an import or a clone did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub succeeded: usize,
    pub failed: Vec<ConfigKey>,
    pub skipped: Vec<ConfigKey>,
    pub unrecognized: Vec<String>,
}

/// One config to copy in a clone: the source's id, and the group and data id of the copy
/// (blank keeps the source's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneItem {
    pub id: u64,
    pub group: Option<String>,
    pub data_id: Option<String>,
}

/// The publish that copies `config` (stored at `source`) into `target`.
pub fn clone_publish(
    item: &CloneItem,
    source: &ConfigKey,
    config: &Config,
    target: &Namespace,
    limits: ConfigLimits,
) -> Result<PublishConfig, ConfigError> {
    let group = item.group.as_deref().map(str::trim).filter(|group| !group.is_empty());
    let data_id = item.data_id.as_deref().map(str::trim).filter(|data_id| !data_id.is_empty());
    let key = ConfigKey::parse(
        Some(target.as_str()),
        Some(group.unwrap_or(source.group.as_str())),
        Some(data_id.unwrap_or(source.data_id.as_str())),
    )?;
    if config.content.len() > limits.max_content_bytes {
        return Err(ConfigError::ContentTooLarge { size: config.content.len(), limit: limits.max_content_bytes });
    }
    let meta = ConfigMeta {
        config_type: config.config_type,
        desc: config.desc.clone(),
        app_name: config.app_name.clone(),
        tags: config.tags.clone(),
        encrypted_data_key: config.encrypted_data_key.clone(),
        details: ConfigDetails::or_empty(config.details.as_deref()).clone(),
    };
    Ok(PublishConfig { key, content: config.content.clone(), meta, cas_md5: None })
}

/// The files and metadata of an export of `configs`: one `group/dataId` entry each.
pub fn export_archive<'a>(
    configs: impl IntoIterator<Item = (&'a ConfigKey, &'a Config)>,
    layout: ArchiveLayout,
) -> (Vec<ArchiveFile>, ArchiveMetadata) {
    let mut files = Vec::new();
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for (key, config) in configs {
        let (group, data_id) = (key.group.as_str(), key.data_id.as_str());
        files.push(ArchiveFile { name: format!("{group}/{data_id}"), content: config.content.clone().into_bytes() });
        match layout {
            ArchiveLayout::V1 if !config.app_name.is_empty() => {
                v1.push(format!("{}={}", v1_meta_key(group, data_id), config.app_name));
            }
            ArchiveLayout::V1 => {}
            ArchiveLayout::V2 => v2.push(MetadataItem {
                group: Some(group.to_owned()),
                data_id: Some(data_id.to_owned()),
                config_type: Some(config.config_type.as_str().to_owned()),
                desc: (!config.desc.is_empty()).then(|| config.desc.clone()),
                app_name: (!config.app_name.is_empty()).then(|| config.app_name.clone()),
            }),
        }
    }
    let metadata = match layout {
        ArchiveLayout::V1 if v1.is_empty() => ArchiveMetadata::None,
        ArchiveLayout::V1 => ArchiveMetadata::V1(v1.join("\r\n")),
        ArchiveLayout::V2 => ArchiveMetadata::V2(v2),
    };
    (files, metadata)
}

#[cfg(test)]
mod tests;
