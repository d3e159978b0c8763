//! Markdown documents (the review) rendered to HTML a page may insert: every
//! text is escaped, raw HTML in the source is shown as text, and links keep
//! only destinations that cannot run script.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};

/// Whether a link or image destination is safe to keep: web and mail links,
/// and relative references (no scheme before the first `/`, `?` or `#`).
fn safe_destination(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    let scheme_end = lower.find(':');
    let path_start = lower.find(['/', '?', '#']);
    match (scheme_end, path_start) {
        (None, _) => true,
        (Some(colon), Some(slash)) if slash < colon => true,
        _ => ["http:", "https:", "mailto:"]
            .iter()
            .any(|s| lower.starts_with(s)),
    }
}

/// The HTML of a Markdown document (CommonMark with tables), safe to insert
/// into a page: metric ids, owners and names come from the catalog, which
/// anyone who can open a pull request writes, so nothing in them may become
/// markup.
pub(crate) fn safe_html(markdown: &str) -> String {
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        // Raw HTML is shown as the text it is.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_destination(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: CowStr::Borrowed(""),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_destination(&dest_url) => Event::Start(Tag::Image {
            link_type,
            dest_url: CowStr::Borrowed(""),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

#[cfg(test)]
mod tests {
    use super::safe_html;

    /// Headings, lists, emphasis, code and tables come out as their elements.
    #[test]
    fn the_review_s_structure_becomes_elements() {
        let html = safe_html(
            "# Metrics review\n\n## What went red\n- **revenue** (owner shop): explained: `revenue` <- `cpu`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1>Metrics review</h1>"), "{html}");
        assert!(html.contains("<h2>What went red</h2>"), "{html}");
        assert!(
            html.contains("<li><strong>revenue</strong> (owner shop): explained: <code>revenue</code> &lt;- <code>cpu</code></li>"),
            "{html}"
        );
        assert!(
            html.contains("<table>") && html.contains("<td>2</td>"),
            "{html}"
        );
        assert!(!html.contains("##"), "{html}");
    }

    /// HTML written into a catalog (an owner, a name) is shown, never run.
    #[test]
    fn html_in_the_data_is_text() {
        let html = safe_html(
            "- owner <img src=x onerror=alert(1)>\n\n<script>alert(2)</script>\n\n<div onclick=\"x()\">hi</div>\n",
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"),
            "{html}"
        );
    }

    /// Links that would run script lose their destination; web links keep theirs.
    #[test]
    fn only_safe_links_keep_their_destination() {
        let html = safe_html(
            "[a](javascript:alert(1)) [b]( JavaScript:alert(1)) [c](data:text/html,x) [d](https://example.com/x) [e](runbooks/cpu.md#top) ![f](vbscript:x)",
        );
        assert!(!html.to_ascii_lowercase().contains("script:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.com/x">d</a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="runbooks/cpu.md#top">e</a>"#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="">a</a>"#), "{html}");
    }
}
