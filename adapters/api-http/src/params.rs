//! Request parameters as Nacos reads them: the query string and a form body, merged.
//!
//! Clients put parameters in either place for every method (the Go SDK even sends raw,
//! unencoded form bodies), so both are parsed and the body wins. Decoding is strict UTF-8:
//! a parameter that is not valid UTF-8 is an error, never silently replaced.

use std::collections::HashMap;

use bytes::{Buf, Bytes};
use futures::StreamExt;
use percent_encoding::percent_decode;
use warp::Filter;

use crate::error::ApiError;

/// The merged parameters of one request.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    values: HashMap<String, String>,
}

impl Params {
    pub(crate) fn parse(query: &str, body: &[u8]) -> Result<Self, ApiError> {
        let mut params = Self::default();
        params.extend(query.as_bytes())?;
        params.extend(body)?;
        Ok(params)
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

/// Extracts the merged parameters, reading at most `limit` body bytes.
pub(crate) fn params(limit: u64) -> impl Filter<Extract = (Params,), Error = warp::Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    query.and(body(limit)).and_then(|query: String, body: Bytes| async move {
        Params::parse(&query, &body).map_err(warp::reject::custom)
    })
}

/// The body, refused as soon as it exceeds `limit` (declared or streamed), whether or not
/// the client sent a `Content-Length`.
fn body(limit: u64) -> impl Filter<Extract = (Bytes,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length").and(warp::body::stream()).and_then(
        move |declared: Option<u64>, stream| async move {
            if declared.is_some_and(|length| length > limit) {
                return Err(warp::reject::custom(ApiError::BodyTooLarge { limit }));
            }
            collect(stream, limit).await.map_err(warp::reject::custom)
        },
    )
}

async fn collect<S, B>(stream: S, limit: u64) -> Result<Bytes, ApiError>
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut stream = Box::pin(stream);
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
