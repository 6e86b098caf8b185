//! The zip and YAML codecs of Nacos's config archive. The rules about what the entries
//! and the metadata mean are the domain's (`domain::config::read_archive`); this only
//! unpacks and packs bytes, within bounds that keep a hostile archive from costing more
//! than [`MAX_ARCHIVE_EXPANDED_BYTES`] of memory.

use std::io::{Cursor, Read, Write};

use domain::config::{
    check_entry_name, ArchiveFile, ArchiveMetadata, MetadataItem, TransferError, MAX_ARCHIVE_ENTRIES,
    MAX_ARCHIVE_EXPANDED_BYTES, META_V1, META_V2,
};
use serde::{Deserialize, Serialize};

/// `.metadata.yml`'s document. Fields in alphabetical order and `None`s left out, as Java's
/// SnakeYAML writes it.
#[derive(Serialize, Deserialize)]
struct MetadataDoc {
    #[serde(default)]
    metadata: Vec<MetadataYaml>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataYaml {
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "scalar")]
    app_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "scalar")]
    data_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "scalar")]
    desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "scalar")]
    group: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none", deserialize_with = "scalar")]
    config_type: Option<String>,
}

/// A YAML scalar as text: SnakeYAML leaves `dataId: 123` unquoted, which reads as a number.
fn scalar<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Option::<serde_yaml::Value>::deserialize(deserializer)?;
    Ok(match value {
        None | Some(serde_yaml::Value::Null) => None,
        Some(serde_yaml::Value::String(text)) => Some(text),
        Some(serde_yaml::Value::Bool(flag)) => Some(flag.to_string()),
        Some(serde_yaml::Value::Number(number)) => Some(number.to_string()),
        Some(_) => return Err(serde::de::Error::custom("expected a scalar")),
    })
}

/// Unpacks an uploaded archive: its files (directories left out) and its metadata.
pub(crate) fn read_zip(bytes: &[u8]) -> Result<(Vec<ArchiveFile>, ArchiveMetadata), TransferError> {
    if bytes.is_empty() {
        return Err(TransferError::EmptyFile);
    }
    let bad = |err: zip::result::ZipError| TransferError::BadArchive(format!("not a zip archive ({err})"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Err(TransferError::BadArchive(format!("more than {MAX_ARCHIVE_ENTRIES} entries")));
    }
    let mut files = Vec::new();
    let mut expanded: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_owned();
        check_entry_name(&name)?;
        // The sizes in the archive's headers may lie: read at most what is left of the
        // budget, plus one byte to notice it is exceeded.
        let budget = MAX_ARCHIVE_EXPANDED_BYTES - expanded;
        let mut content = Vec::new();
        entry
            .take(budget + 1)
            .read_to_end(&mut content)
            .map_err(|err| TransferError::BadArchive(format!("entry '{name}' could not be unpacked ({err})")))?;
        expanded += content.len() as u64;
        if expanded > MAX_ARCHIVE_EXPANDED_BYTES {
            return Err(TransferError::BadArchive(format!(
                "the archive expands past {} MiB",
                MAX_ARCHIVE_EXPANDED_BYTES / (1024 * 1024)
            )));
        }
        files.push(ArchiveFile { name, content });
    }
    let metadata = metadata(&files)?;
    Ok((files, metadata))
}

/// `.metadata.yml` if the archive has one, else `.meta.yml`, else none.
fn metadata(files: &[ArchiveFile]) -> Result<ArchiveMetadata, TransferError> {
    let text = |file: &ArchiveFile| {
        String::from_utf8(file.content.clone())
            .map_err(|_| TransferError::BadMetadata(format!("{} is not UTF-8 text", file.name)))
    };
    if let Some(file) = files.iter().find(|file| file.name == META_V2) {
        let doc: MetadataDoc = serde_yaml::from_str(&text(file)?)
            .map_err(|err| TransferError::BadMetadata(format!("{META_V2} is not the expected YAML ({err})")))?;
        let items = doc
            .metadata
            .into_iter()
            .map(|item| MetadataItem {
                group: item.group,
                data_id: item.data_id,
                config_type: item.config_type,
                desc: item.desc,
                app_name: item.app_name,
            })
            .collect();
        return Ok(ArchiveMetadata::V2(items));
    }
    match files.iter().find(|file| file.name == META_V1) {
        Some(file) => Ok(ArchiveMetadata::V1(text(file)?)),
        None => Ok(ArchiveMetadata::None),
    }
}

/// Packs an export: one deflated entry per file, then the metadata file, no directories.
pub(crate) fn write_zip(files: &[ArchiveFile], metadata: &ArchiveMetadata) -> std::io::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for file in files {
        writer.start_file(file.name.as_str(), options)?;
        writer.write_all(&file.content)?;
    }
    let meta = match metadata {
        ArchiveMetadata::None => None,
        ArchiveMetadata::V1(text) => Some((META_V1, text.clone())),
        ArchiveMetadata::V2(items) => {
            let doc = MetadataDoc {
                metadata: items
                    .iter()
                    .map(|item| MetadataYaml {
                        app_name: item.app_name.clone(),
                        data_id: item.data_id.clone(),
                        desc: item.desc.clone(),
                        group: item.group.clone(),
                        config_type: item.config_type.clone(),
                    })
                    .collect(),
            };
            let text = serde_yaml::to_string(&doc).map_err(std::io::Error::other)?;
            Some((META_V2, text))
        }
    };
    if let Some((name, text)) = meta {
        writer.start_file(name, options)?;
        writer.write_all(text.as_bytes())?;
    }
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn java_nacos_v2_metadata_reads_with_unquoted_numbers() {
        let yaml =
            b"metadata:\n- appName: order\n  dataId: 123\n  desc: main config\n  group: DEFAULT_GROUP\n  type: yaml\n";
        let (files, metadata) = read_zip(&zip_of(&[("DEFAULT_GROUP/123", b"a: 1"), (META_V2, yaml)])).unwrap();
        assert_eq!(files.len(), 2);
        let ArchiveMetadata::V2(items) = metadata else { panic!("v2 metadata expected") };
        assert_eq!(items[0].data_id.as_deref(), Some("123"));
        assert_eq!(items[0].app_name.as_deref(), Some("order"));
    }

    #[test]
    fn what_we_write_we_read() {
        let files = vec![ArchiveFile { name: "G/a.yaml".to_owned(), content: b"a: 1".to_vec() }];
        let item = MetadataItem {
            group: Some("G".to_owned()),
            data_id: Some("a.yaml".to_owned()),
            config_type: Some("yaml".to_owned()),
            desc: Some("it's: tricky\nyes".to_owned()),
            app_name: None,
        };
        let metadata = ArchiveMetadata::V2(vec![item]);
        let bytes = write_zip(&files, &metadata).unwrap();
        let (read, read_metadata) = read_zip(&bytes).unwrap();
        assert_eq!(read[0], files[0]);
        assert_eq!(read_metadata, metadata);
    }

    #[test]
    fn hostile_archives_are_refused() {
        assert_eq!(read_zip(b""), Err(TransferError::EmptyFile));
        assert!(matches!(read_zip(b"not a zip"), Err(TransferError::BadArchive(_))));
        assert!(matches!(read_zip(&zip_of(&[("../evil", b"x")])), Err(TransferError::BadArchive(_))));
        // 65 MiB of zeros deflates to a few tens of KiB.
        let bomb = vec![0u8; (MAX_ARCHIVE_EXPANDED_BYTES + 1024 * 1024) as usize];
        let packed = zip_of(&[("G/bomb", &bomb)]);
        assert!(packed.len() < 1024 * 1024);
        assert!(matches!(read_zip(&packed), Err(TransferError::BadArchive(message)) if message.contains("expands")));
        let bad_yaml = zip_of(&[("G/a", b"x"), (META_V2, b"metadata: [oops")]);
        assert!(matches!(read_zip(&bad_yaml), Err(TransferError::BadMetadata(_))));
    }
}
