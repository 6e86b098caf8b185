//! Pages of a listing: the one rule every list a client can page through follows.

pub use crate::limits::MAX_PAGE_SIZE;
/// Page size of config searches and history when the client names none (Java Nacos's).
pub const DEFAULT_CONFIG_PAGE_SIZE: usize = 100;
/// Page size of service, subscriber and instance lists when the client names none
/// (Java Nacos's v2 default; the SDKs always send one).
pub const DEFAULT_NAMING_PAGE_SIZE: usize = 20;

/// Which page a client asked for: `page_no` from 1, `page_size` in `1..=MAX_PAGE_SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page_no: usize,
    page_size: usize,
}

impl PageRequest {
    /// From what a client sent. Absent or below 1: page 1, `default_size`; a size above the
    /// maximum is cut to it. Absurd page numbers are valid and answer empty pages.
    pub fn new(page_no: Option<i64>, page_size: Option<i64>, default_size: usize) -> Self {
        let positive = |value: i64| usize::try_from(value).ok().filter(|value| *value >= 1);
        let page_no = page_no.and_then(positive).unwrap_or(1);
        let page_size = page_size.and_then(positive).unwrap_or(default_size).clamp(1, MAX_PAGE_SIZE);
        Self { page_no, page_size }
    }

    /// The first page of the largest size.
    pub fn everything() -> Self {
        Self { page_no: 1, page_size: MAX_PAGE_SIZE }
    }

    pub fn page_no(self) -> usize {
        self.page_no
    }

    pub fn page_size(self) -> usize {
        self.page_size
    }

    /// How many items come before this page.
    pub fn skip(self) -> usize {
        (self.page_no - 1).saturating_mul(self.page_size)
    }
}

/// One page of results; `page_no` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub total: usize,
    pub page_no: usize,
    pub pages: usize,
    pub items: Vec<T>,
}

impl<T> Page<T> {
    /// Keeps the page `request` asks for out of every item.
    pub fn of(items: impl IntoIterator<Item = T>, request: PageRequest) -> Self {
        let mut total = 0;
        let mut kept = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            total += 1;
            if index >= request.skip() && kept.len() < request.page_size {
                kept.push(item);
            }
        }
        Self::from_parts(total, request, kept)
    }

    /// A page whose items were cut out elsewhere (from `total` in all).
    pub fn from_parts(total: usize, request: PageRequest, items: Vec<T>) -> Self {
        Self { total, page_no: request.page_no, pages: total.div_ceil(request.page_size), items }
    }

    /// The same page with every item changed by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            total: self.total,
            page_no: self.page_no,
            pages: self.pages,
            items: self.items.into_iter().map(f).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_silly_requests_get_the_first_page_of_the_default_size() {
        assert_eq!(PageRequest::new(None, None, 20), PageRequest { page_no: 1, page_size: 20 });
        assert_eq!(PageRequest::new(Some(0), Some(-5), 10), PageRequest { page_no: 1, page_size: 10 });
        assert_eq!(PageRequest::new(Some(3), Some(100_000), 20).page_size(), MAX_PAGE_SIZE);
    }

    #[test]
    fn a_page_keeps_its_slice_and_counts_everything() {
        let page = Page::of(1..=25, PageRequest::new(Some(3), Some(10), 20));
        assert_eq!((page.total, page.page_no, page.pages, page.items), (25, 3, 3, vec![21, 22, 23, 24, 25]));
        let beyond = Page::of(1..=25, PageRequest::new(Some(i64::MAX), Some(10), 20));
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.total, 25);
    }
}
