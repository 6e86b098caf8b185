//! Request parameters as Nacos reads them: the query string and a form body, merged.
//!
//! Clients put parameters in either place for every method (the Go SDK even sends raw,
//! unencoded form bodies), so both are parsed and the body wins. Decoding is strict UTF-8:
//! a parameter that is not valid UTF-8 is an error, never silently replaced.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures::StreamExt;
use percent_encoding::percent_decode;
use warp::Filter;

use crate::error::ApiError;

/// The merged parameters of one request, and the files of a multipart upload.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    files: HashMap<String, Bytes>,
    /// An `application/json` body, kept whole (a clone's selection); such a body is not
    /// read as a form, as Java Nacos does not.
    json: Option<Bytes>,
}

impl Params {
    pub(crate) fn parse(query: &str, body: &[u8]) -> Result<Self, ApiError> {
        let mut params = Self::default();
        params.extend(query.as_bytes())?;
        params.extend(body)?;
        Ok(params)
    }

    /// A `multipart/form-data` body: its text fields are parameters (the body's win over
    /// the query's, as for a form), its file fields are kept whole for [`Params::file`].
    pub(crate) async fn parse_multipart(query: &str, boundary: String, body: Bytes) -> Result<Self, ApiError> {
        let mut params = Self::default();
        params.extend(query.as_bytes())?;
        let body = futures::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
        let mut multipart = multer::Multipart::new(body, boundary);
        let bad = |err: multer::Error| ApiError::BadMultipart(err.to_string());
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or("").to_owned();
            if field.file_name().is_some() {
                let content = field.bytes().await.map_err(bad)?;
                params.files.insert(name, content);
            } else {
                let value = field.bytes().await.map_err(bad)?;
                let value = String::from_utf8(value.to_vec()).map_err(|_| ApiError::NotUtf8(name.clone()))?;
                params.values.insert(name, value);
            }
        }
        Ok(params)
    }

    /// The raw body of an `application/json` request.
    pub(crate) fn json_body(&self) -> Option<&[u8]> {
        self.json.as_deref()
    }

    /// An uploaded file's content, by its form field's name.
    pub(crate) fn file(&self, name: &str) -> Option<&Bytes> {
        self.files.get(name)
    }

    /// Every parameter as a form body (for a request passed to another node).
    pub(crate) fn encode_form(&self) -> String {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let mut pairs: Vec<(&String, &String)> = self.values.iter().collect();
        pairs.sort();
        pairs
            .iter()
            .map(|(name, value)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(name, NON_ALPHANUMERIC),
                    utf8_percent_encode(value, NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Sets `name` unless the request gave it.
    pub(crate) fn insert_if_absent(&mut self, name: &str, value: &str) {
        self.values.entry(name.to_owned()).or_insert_with(|| value.to_owned());
    }

    /// The parameter's value; blank values count as absent, as in Nacos.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|value| !value.trim().is_empty())
    }

    fn extend(&mut self, encoded: &[u8]) -> Result<(), ApiError> {
        for pair in encoded.split(|byte| *byte == b'&').filter(|pair| !pair.is_empty()) {
            let (name, value) = match pair.iter().position(|byte| *byte == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let name = decode(name)?;
            let value = decode(value).map_err(|_| ApiError::NotUtf8(name.clone()))?;
            self.values.insert(name, value);
        }
        Ok(())
    }
}

fn decode(raw: &[u8]) -> Result<String, ApiError> {
    let plus_as_space: Vec<u8> = raw.iter().map(|byte| if *byte == b'+' { b' ' } else { *byte }).collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|value| value.into_owned())
        .map_err(|_| ApiError::NotUtf8(String::from_utf8_lossy(raw).into_owned()))
}

/// Extracts the merged parameters, reading at most `limit` body bytes, with no access check:
/// routes read theirs through `access::checked_params`, and only the access check itself
/// and login (how a client gets its token) call this.
pub(crate) fn unchecked_params(limit: u64) -> impl Filter<Extract = (Params,), Error = warp::Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    query.and(warp::header::optional::<String>("content-type")).and(body(limit)).and_then(
        |query: String, content_type: Option<String>, body: Bytes| async move {
            let content_type = content_type.as_deref().unwrap_or("");
            if content_type.trim_start().to_ascii_lowercase().starts_with("application/json") {
                let mut params = Params::parse(&query, b"").map_err(warp::reject::custom)?;
                params.json = Some(body);
                return Ok(params);
            }
            match multer::parse_boundary(content_type).ok() {
                Some(boundary) => Params::parse_multipart(&query, boundary, body).await,
                None => Params::parse(&query, &body),
            }
            .map_err(warp::reject::custom)
        },
    )
}

/// How much of a refused body is still read (and dropped) before the 413 goes out, as
/// Tomcat's `maxSwallowSize` does for Java Nacos. A server that answers and closes while
/// the client is still sending leaves unread bytes in its socket, the kernel resets the
/// connection, and the client sees "broken pipe" instead of the answer. Beyond this many
/// bytes, or this long, the connection is dropped anyway: a client cannot hold the
/// server reading for ever.
const SWALLOW_BYTES: u64 = 2 * 1024 * 1024;
const SWALLOW_TIME: Duration = Duration::from_secs(5);

/// The body, refused once it exceeds `limit` (declared or streamed), whether or not the
/// client sent a `Content-Length`.
fn body(limit: u64) -> impl Filter<Extract = (Bytes,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length").and(warp::body::stream()).and_then(
        move |declared: Option<u64>, stream| async move {
            let mut stream = Box::pin(stream);
            let refused = if declared.is_some_and(|length| length > limit) {
                Err(ApiError::BodyTooLarge { limit })
            } else {
                collect(&mut stream, limit).await
            };
            if matches!(refused, Err(ApiError::BodyTooLarge { .. })) {
                // A declared length past the swallow bound is not worth reading.
                if declared.is_none_or(|length| length <= SWALLOW_BYTES) {
                    let _ = tokio::time::timeout(SWALLOW_TIME, swallow(&mut stream)).await;
                }
            }
            refused.map_err(warp::reject::custom)
        },
    )
}

/// Reads and drops the rest of a refused body, up to [`SWALLOW_BYTES`].
async fn swallow<S, B>(stream: &mut Pin<Box<S>>)
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut read = 0u64;
    while let Some(Ok(chunk)) = stream.next().await {
        read = read.saturating_add(chunk.remaining() as u64);
        if read > SWALLOW_BYTES {
            return;
        }
    }
}

async fn collect<S, B>(stream: &mut Pin<Box<S>>, limit: u64) -> Result<Bytes, ApiError>
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|_| ApiError::BadBody)?;
        if (body.len() + chunk.remaining()) as u64 > limit {
            return Err(ApiError::BodyTooLarge { limit });
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            let n = piece.len();
            body.extend_from_slice(piece);
            chunk.advance(n);
        }
    }
    Ok(Bytes::from(body))
}
