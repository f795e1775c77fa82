//! Where in the settings JSON a reading error happened, as a field path
//! (`sidecarSets[0].selector.matchLabel`): from the error's position, by a
//! small scan of the bytes before it. A path-tracking deserializer would
//! give the same path, at the price of a second, tracked copy of every
//! settings reader in the module (tens of KB): the settings are read once
//! per request without tracking, and only an error is located.

/// One open object or array on the way to the error.
enum Frame {
    /// An object, with the key of the member being read.
    Object(Option<String>),
    /// An array, with the index of the element being read (None: before
    /// the first element).
    Array(Option<usize>),
}

fn path_of(stack: &[Frame]) -> String {
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Array(Some(index)) => path.push_str(&format!("[{index}]")),
            _ => {}
        }
    }
    path
}

/// The byte offset just past line `line`, column `column` (serde_json's
/// 1-based position of the last byte it read).
fn offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match bytes
            .get(start..)
            .and_then(|rest| rest.iter().position(|b| *b == b'\n'))
        {
            Some(newline) => start += newline + 1,
            None => break,
        }
    }
    (start + column).min(bytes.len())
}

/// The path of the last value (or member key) that ends at or before the
/// error of `error` in `bytes`: the field serde was reading when it failed
/// (an unknown key, a value of the wrong type, an object missing a field).
/// An error a visitor raises after reading a value (not serde_json itself)
/// is placed where the enclosing object or array ends: it is about the last
/// value in it, unless it is the object's own missing field.
pub fn path_of_error(bytes: &[u8], error: &serde_json::Error) -> String {
    let end = offset(bytes, error.line(), error.column());
    let mut stack: Vec<Frame> = Vec::new();
    let mut last = String::new();
    // The path of the last value inside the object or array that closed
    // last, while nothing else followed.
    let mut inner: Option<String> = None;
    let mut i = 0;
    while i < end {
        let Some(&byte) = bytes.get(i) else { break };
        // A value starts: an array's element gets its index.
        if !matches!(
            byte,
            b'}' | b']' | b',' | b':' | b' ' | b'\n' | b'\r' | b'\t'
        ) && let Some(Frame::Array(index)) = stack.last_mut()
            && index.is_none()
        {
            *index = Some(0);
        }
        match byte {
            // Where an input too deep to read stops.
            b'{' | b'[' => {
                last = path_of(&stack);
                stack.push(if byte == b'{' {
                    Frame::Object(None)
                } else {
                    Frame::Array(None)
                });
            }
            b'}' | b']' => {
                let closing = std::mem::take(&mut last);
                stack.pop();
                last = path_of(&stack);
                inner = Some(closing);
                i += 1;
                continue;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object(key)) => *key = None,
                Some(Frame::Array(Some(index))) => *index += 1,
                _ => {}
            },
            b'"' => {
                // The string's end, past escaped quotes.
                let mut j = i + 1;
                while let Some(&b) = bytes.get(j) {
                    match b {
                        b'\\' => j += 2,
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                let text = bytes.get(i..=j).unwrap_or_default();
                if let Some(Frame::Object(key @ None)) = stack.last_mut() {
                    *key = Some(serde_json::from_slice::<String>(text).unwrap_or_default());
                }
                last = path_of(&stack);
                i = j;
            }
            b':' | b' ' | b'\n' | b'\r' | b'\t' => {
                i += 1;
                continue;
            }
            _ => {
                // A number or a literal: to its end.
                while bytes.get(i + 1).is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                }) {
                    i += 1;
                }
                last = path_of(&stack);
            }
        }
        inner = None;
        i += 1;
    }
    let message = error.to_string();
    // A map or a sequence of the wrong type is reported before it is read:
    // the value at the position is the one.
    let next = bytes
        .get(i..)
        .and_then(|rest| rest.iter().find(|b| !b.is_ascii_whitespace()));
    if matches!(next, Some(b'[' | b'{')) && message.starts_with("invalid type") {
        if let Some(Frame::Array(index @ None)) = stack.last_mut() {
            *index = Some(0);
        }
        return path_of(&stack);
    }
    // An enum written as a map: its key is the variant, not a field.
    if let Some(Frame::Object(Some(key))) = stack.last()
        && message.starts_with(&format!("unknown variant `{key}`"))
    {
        stack.pop();
        return path_of(&stack);
    }
    match inner {
        Some(inner) if !message.starts_with("missing field") => inner,
        _ => last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(json: &str) -> String {
        let error = serde_json::from_str::<crate::settings::Index>(json)
            .err()
            .unwrap();
        path_of_error(json.as_bytes(), &error)
    }

    #[test]
    fn names_the_field_an_error_is_in() {
        for (json, path) in [
            (r#"{"skipHostNetworkPods":"yes"}"#, "skipHostNetworkPods"),
            (r#"{"sidecarSet":[]}"#, "sidecarSet"),
            (
                r#"{"sidecarSets":[{"name":"a","selector":{}},{"selector":{}}]}"#,
                "sidecarSets[1]",
            ),
            (
                r#"{"sidecarSets":[{"name":"a","selector":{"matchLabel":{}}}]}"#,
                "sidecarSets[0].selector.matchLabel",
            ),
            (
                r#"{ "maxAddedRequests" : { "cpu" : [1] } }"#,
                "maxAddedRequests.cpu",
            ),
            ("{\n  \"mode\": \"audit\"\n}", "mode"),
            (
                r#"{"excludedNamespaces":["a\"b",7]}"#,
                "excludedNamespaces[1]",
            ),
        ] {
            assert_eq!(located(json), path, "{json}");
        }
    }
}
