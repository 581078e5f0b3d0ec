//! VoiceXML 2.0 Appendix P builtin grammars: boolean, date, digits,
//! currency, number, phone and time, for DTMF and for en-US voice (typed
//! words in text mode), with their parameters (`minlength`, `maxlength`,
//! `length` for digits; `y` and `n` for boolean) and return values in the
//! forms Appendix P gives (boolean `true`/`false`, date `yyyymmdd` with `?`
//! for parts not said, time `hhmmx`, currency `UUUmm.nn`, number and digits
//! as strings, phone digits with `x` before an extension).
//!
//! They are native matchers rather than SRGS rule sets: the value
//! computation (number words, dates) is easier to get right in Rust, and a
//! builtin is matched in microseconds.

use url::Url;

use super::matcher::GrammarMatch;
use super::{GrammarError, Mode};

/// The builtin types of Appendix P.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Boolean,
    Date,
    Digits,
    Currency,
    Number,
    Phone,
    Time,
}

/// A builtin grammar with its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Builtin {
    uri: String,
    mode: Mode,
    lang: String,
    ty: Type,
    min_len: usize,
    max_len: Option<usize>,
    yes_key: String,
    no_key: String,
}

/// The value a builtin grammar returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `boolean`.
    Bool(bool),
    /// Every other type: the spec's string form.
    Text(String),
}

impl Value {
    pub(crate) fn to_js(&self, _ctx: &mut boa_engine::Context) -> boa_engine::JsValue {
        match self {
            Self::Bool(b) => boa_engine::JsValue::from(*b),
            Self::Text(s) => boa_engine::JsValue::from(boa_engine::js_string!(s.as_str())),
        }
    }
}

fn error(uri: &str, message: String) -> GrammarError {
    let url = Url::parse(uri)
        .or_else(|_| Url::parse("builtin:grammar"))
        .expect("static URL");
    GrammarError::new(&url, None, message)
}

impl Builtin {
    /// `builtin:dtmf/T?params`, `builtin:voice/T?params` or
    /// `builtin:grammar/T?params` (voice).
    pub(crate) fn from_uri(uri: &str, lang: &str) -> Result<Self, GrammarError> {
        let rest = uri
            .strip_prefix("builtin:")
            .ok_or_else(|| error(uri, format!("'{uri}' is not a builtin grammar URI")))?;
        let (mode, ty) = match rest.split_once('/') {
            Some(("dtmf", t)) => (Mode::Dtmf, t),
            Some(("voice" | "grammar", t)) => (Mode::Voice, t),
            _ => {
                return Err(error(
                    uri,
                    format!(
                        "'{uri}' must start with builtin:dtmf/, builtin:voice/ or builtin:grammar/"
                    ),
                ));
            }
        };
        Self::build(uri, ty, mode, lang)
    }

    /// The builtin named by `<field type="…">` in `mode`.
    pub(crate) fn from_type(type_attr: &str, mode: Mode, lang: &str) -> Result<Self, GrammarError> {
        let prefix = match mode {
            Mode::Dtmf => "builtin:dtmf/",
            Mode::Voice => "builtin:voice/",
        };
        let uri = format!("{prefix}{}", type_attr.trim());
        Self::build(&uri, type_attr.trim(), mode, lang)
    }

    fn build(uri: &str, spec: &str, mode: Mode, lang: &str) -> Result<Self, GrammarError> {
        let (name, params) = spec.split_once('?').unwrap_or((spec, ""));
        let ty = match name {
            "boolean" => Type::Boolean,
            "date" => Type::Date,
            "digits" => Type::Digits,
            "currency" => Type::Currency,
            "number" => Type::Number,
            "phone" => Type::Phone,
            "time" => Type::Time,
            other => {
                return Err(error(
                    uri,
                    format!("unknown builtin grammar type '{other}'"),
                ));
            }
        };
        let lang_ok = lang.is_empty() || lang.to_ascii_lowercase().starts_with("en");
        if mode == Mode::Voice && !lang_ok {
            return Err(error(
                uri,
                format!("builtin voice grammars are available in English only, not '{lang}'"),
            ));
        }
        let mut b = Self {
            uri: uri.to_owned(),
            mode,
            lang: if lang.is_empty() {
                "en-US".into()
            } else {
                lang.to_owned()
            },
            ty,
            min_len: 1,
            max_len: None,
            yes_key: "1".into(),
            no_key: "2".into(),
        };
        for p in params.split(';').filter(|p| !p.trim().is_empty()) {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| error(uri, format!("parameter '{p}' has no value")))?;
            let (k, v) = (k.trim(), v.trim());
            let num = || {
                v.parse::<usize>()
                    .map_err(|_| error(uri, format!("parameter {k} must be a number, not '{v}'")))
            };
            match (ty, k) {
                (Type::Digits, "minlength") => b.min_len = num()?,
                (Type::Digits, "maxlength") => b.max_len = Some(num()?),
                (Type::Digits, "length") => {
                    let n = num()?;
                    b.min_len = n;
                    b.max_len = Some(n);
                }
                (Type::Boolean, "y") => b.yes_key = dtmf_key(uri, k, v)?,
                (Type::Boolean, "n") => b.no_key = dtmf_key(uri, k, v)?,
                _ => {
                    return Err(error(uri, format!("builtin {name} has no parameter '{k}'")));
                }
            }
        }
        if b.max_len.is_some_and(|m| m < b.min_len) {
            return Err(error(uri, "maxlength is below minlength".into()));
        }
        if b.yes_key == b.no_key {
            return Err(error(uri, "y and n must be different keys".into()));
        }
        Ok(b)
    }

    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    pub(crate) fn lang(&self) -> &str {
        &self.lang
    }

    /// Matches normalized tokens (upper-case DTMF keys or lower-case words).
    pub(crate) fn matches(&self, toks: &[String]) -> GrammarMatch<Value> {
        match self.mode {
            Mode::Dtmf => self.match_dtmf(toks),
            Mode::Voice => GrammarMatch {
                full: self.match_voice(toks),
                open: false,
            },
        }
    }

    fn match_dtmf(&self, toks: &[String]) -> GrammarMatch<Value> {
        let keys: String = toks.concat();
        let none = |open| GrammarMatch { full: None, open };
        let digits_only = keys.bytes().all(|b| b.is_ascii_digit());
        match self.ty {
            Type::Boolean => {
                if keys.is_empty() {
                    none(true)
                } else if keys == self.yes_key {
                    full(Value::Bool(true), false)
                } else if keys == self.no_key {
                    full(Value::Bool(false), false)
                } else {
                    none(false)
                }
            }
            Type::Digits => {
                if !digits_only || self.max_len.is_some_and(|m| keys.len() > m) {
                    return none(false);
                }
                let open = self.max_len.is_none_or(|m| keys.len() < m);
                if keys.len() < self.min_len.max(1) {
                    return none(open);
                }
                full(Value::Text(keys), open)
            }
            Type::Date => {
                if !digits_only || keys.len() > 8 {
                    return none(false);
                }
                if keys.len() < 8 {
                    return none(true);
                }
                match valid_date(&keys) {
                    true => full(Value::Text(keys), false),
                    false => none(false),
                }
            }
            Type::Time => {
                if !digits_only || keys.len() > 4 {
                    return none(false);
                }
                if keys.len() < 4 {
                    return none(true);
                }
                let (h, m) = (num(&keys[..2]), num(&keys[2..]));
                if h > 23 || m > 59 {
                    return none(false);
                }
                let x = if h == 0 || h > 12 { 'h' } else { '?' };
                full(Value::Text(format!("{keys}{x}")), false)
            }
            Type::Number | Type::Currency => {
                // Digits with at most one '*' as the decimal point.
                let mut parts = keys.split('*');
                let int = parts.next().unwrap_or("");
                let frac = parts.next();
                let bad = parts.next().is_some()
                    || !int.bytes().all(|b| b.is_ascii_digit())
                    || frac.is_some_and(|f| !f.bytes().all(|b| b.is_ascii_digit()));
                if bad {
                    return none(false);
                }
                if int.is_empty() || frac == Some("") {
                    return none(true);
                }
                let mut v = int.to_owned();
                if let Some(f) = frac {
                    v.push('.');
                    v.push_str(f);
                }
                full(Value::Text(v), true)
            }
            Type::Phone => {
                // Digits, '*' introducing an extension.
                let mut parts = keys.split('*');
                let main = parts.next().unwrap_or("");
                let ext = parts.next();
                let bad = parts.next().is_some()
                    || !main.bytes().all(|b| b.is_ascii_digit())
                    || ext.is_some_and(|e| !e.bytes().all(|b| b.is_ascii_digit()));
                if bad {
                    return none(false);
                }
                if main.is_empty() || ext == Some("") {
                    return none(true);
                }
                let v = match ext {
                    Some(e) => format!("{main}x{e}"),
                    None => main.to_owned(),
                };
                full(Value::Text(v), true)
            }
        }
    }

    fn match_voice(&self, toks: &[String]) -> Option<Value> {
        let words = split_words(toks);
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        if w.is_empty() {
            return None;
        }
        match self.ty {
            Type::Boolean => voice_boolean(&w).map(Value::Bool),
            Type::Digits => {
                let d = spoken_digits(&w)?;
                let ok =
                    d.len() >= self.min_len.max(1) && self.max_len.is_none_or(|m| d.len() <= m);
                ok.then_some(Value::Text(d))
            }
            Type::Number => spoken_number(&w).map(Value::Text),
            Type::Currency => spoken_currency(&w).map(Value::Text),
            Type::Date => spoken_date(&w).map(Value::Text),
            Type::Time => spoken_time(&w).map(Value::Text),
            Type::Phone => spoken_phone(&w).map(Value::Text),
        }
    }
}

fn full(v: Value, open: bool) -> GrammarMatch<Value> {
    GrammarMatch {
        full: Some(v),
        open,
    }
}

fn dtmf_key(uri: &str, k: &str, v: &str) -> Result<String, GrammarError> {
    let key = v.to_ascii_uppercase();
    let ok = key.len() == 1
        && key
            .chars()
            .all(|c| c.is_ascii_digit() || "*#ABCD".contains(c));
    if ok {
        Ok(key)
    } else {
        Err(error(
            uri,
            format!("parameter {k} must be one DTMF key, not '{v}'"),
        ))
    }
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(u32::MAX)
}

fn valid_date(d: &str) -> bool {
    let (m, day) = (num(&d[4..6]), num(&d[6..8]));
    (1..=12).contains(&m) && (1..=days_in_month(m)).contains(&day)
}

fn days_in_month(m: u32) -> u32 {
    match m {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Splits typed forms such as "3:30pm", "$12.50" or "5th," into the words a
/// recognizer would produce, dropping punctuation.
fn split_words(toks: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for t in toks {
        let t = t.trim_matches(|c: char| matches!(c, ',' | '?' | '!'));
        let t = t.strip_suffix('.').unwrap_or(t);
        if let Some(rest) = t.strip_prefix('$') {
            out.push(rest.to_owned());
            out.push("dollars".to_owned());
            continue;
        }
        let t = match t {
            "a.m" => "am",
            "p.m" => "pm",
            _ => t,
        };
        // "3:30pm" is a time and a meridiem.
        let split = ["am", "pm"].iter().find_map(|suffix| {
            let head = t.strip_suffix(suffix)?;
            let is_time = !head.is_empty() && head.chars().all(|c| c.is_ascii_digit() || c == ':');
            is_time.then_some((head, *suffix))
        });
        match split {
            Some((head, suffix)) => {
                out.push(head.to_owned());
                out.push(suffix.to_owned());
            }
            None if !t.is_empty() => out.push(t.to_owned()),
            None => {}
        }
    }
    out
}

const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn digit_word(w: &str) -> Option<char> {
    match w {
        "oh" | "o" => Some('0'),
        _ => {
            let i = UNITS.iter().take(10).position(|u| *u == w)?;
            char::from_digit(u32::try_from(i).ok()?, 10)
        }
    }
}

fn voice_boolean(w: &[&str]) -> Option<bool> {
    let phrase = w.join(" ");
    const YES: &[&str] = &[
        "yes",
        "yeah",
        "yep",
        "yup",
        "sure",
        "correct",
        "right",
        "true",
        "affirmative",
        "ok",
        "okay",
        "yes please",
        "that's right",
        "that is right",
        "of course",
    ];
    const NO: &[&str] = &[
        "no",
        "nope",
        "nah",
        "false",
        "negative",
        "incorrect",
        "wrong",
        "no thanks",
        "no thank you",
        "that's wrong",
        "that is wrong",
    ];
    if YES.contains(&phrase.as_str()) {
        Some(true)
    } else if NO.contains(&phrase.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Digit words ("one two oh") or typed digits; "double"/"triple" repeat the
/// next digit.
fn spoken_digits(w: &[&str]) -> Option<String> {
    let mut out = String::new();
    let mut repeat = 1;
    for word in w {
        match *word {
            "double" => repeat = 2,
            "triple" => repeat = 3,
            _ if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) => {
                if repeat != 1 && word.len() != 1 {
                    return None;
                }
                for _ in 0..repeat {
                    out.push_str(word);
                }
                repeat = 1;
            }
            _ => {
                let d = digit_word(word)?;
                for _ in 0..repeat {
                    out.push(d);
                }
                repeat = 1;
            }
        }
    }
    (repeat == 1 && !out.is_empty()).then_some(out)
}

/// A cardinal number in words ("two thousand and five", "a hundred") or a
/// typed integer; the whole slice must be consumed.
fn cardinal(w: &[&str]) -> Option<u64> {
    if let [one] = w
        && !one.is_empty()
        && one.bytes().all(|b| b.is_ascii_digit())
        && one.len() <= 15
    {
        return one.parse().ok();
    }
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut seen = false;
    let mut last_scale = u64::MAX;
    for (i, word) in w.iter().enumerate() {
        match *word {
            "and" if seen && i + 1 < w.len() => continue,
            "a" if i + 1 < w.len() && matches!(w[i + 1], "hundred" | "thousand" | "million") => {
                current += 1;
                seen = true;
                continue;
            }
            _ => {}
        }
        if let Some(v) = UNITS.iter().position(|u| u == word) {
            let v = v as u64;
            let r = current % 100;
            // A unit follows nothing, a hundred, or a bare tens word.
            let fits = r == 0 || (r >= 20 && r.is_multiple_of(10) && (1..10).contains(&v));
            if !fits {
                return None;
            }
            current += v;
        } else if let Some(t) = TENS.iter().position(|u| u == word) {
            if !current.is_multiple_of(100) {
                return None;
            }
            current += (t as u64 + 2) * 10;
        } else if *word == "hundred" {
            if current == 0 || current >= 10 {
                return None;
            }
            current *= 100;
        } else {
            let scale = match *word {
                "thousand" => 1_000,
                "million" => 1_000_000,
                "billion" => 1_000_000_000,
                _ => return None,
            };
            if current == 0 || scale >= last_scale {
                return None;
            }
            total += current * scale;
            current = 0;
            last_scale = scale;
        }
        seen = true;
    }
    seen.then_some(total + current)
}

/// "minus three point one four", "twelve", "1.5".
fn spoken_number(w: &[&str]) -> Option<String> {
    if let [one] = w {
        let t = one.strip_prefix('-').unwrap_or(one);
        let mut parts = t.split('.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        let ok = !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
            && parts.next().is_none();
        if ok {
            return Some((*one).to_owned());
        }
    }
    let (sign, w) = match w.first() {
        Some(&("minus" | "negative")) => ("-", &w[1..]),
        Some(&("plus" | "positive")) => ("+", &w[1..]),
        _ => ("", w),
    };
    let (int_words, frac_words) = match w.iter().position(|x| *x == "point") {
        Some(p) => (&w[..p], Some(&w[p + 1..])),
        None => (w, None),
    };
    let int = if int_words.is_empty() && frac_words.is_some() {
        0
    } else {
        cardinal(int_words)?
    };
    let mut out = format!("{sign}{int}");
    if let Some(f) = frac_words {
        out.push('.');
        out.push_str(&spoken_digits(f)?);
    }
    Some(out)
}

/// "twelve dollars and fifty cents", "five cents", "$3.20" → `USD12.50`.
fn spoken_currency(w: &[&str]) -> Option<String> {
    let unit = |x: &str| matches!(x, "dollar" | "dollars" | "bucks" | "buck");
    let cent = |x: &str| matches!(x, "cent" | "cents");
    let (dollars, rest) = match w.iter().position(|x| unit(x)) {
        Some(p) => (Some(&w[..p]), &w[p + 1..]),
        None => (None, w),
    };
    let rest = rest.strip_prefix(&["and"]).unwrap_or(rest);
    let cents = match rest {
        [] => None,
        [.., last] if cent(last) => Some(cardinal(&rest[..rest.len() - 1])?),
        _ if dollars.is_some() => Some(cardinal(rest)?),
        _ => return None,
    };
    if cents.is_some_and(|c| c > 99) {
        return None;
    }
    let amount = match dollars {
        Some(d) => {
            let n = spoken_number(d)?;
            if n.starts_with(['-', '+']) {
                return None;
            }
            n
        }
        None => "0".to_owned(),
    };
    if dollars.is_none() && cents.is_none() {
        return None;
    }
    Some(match (amount.contains('.'), cents) {
        (true, None) => {
            let (i, f) = amount.split_once('.')?;
            format!("USD{i}.{:0<2}", &f[..f.len().min(2)])
        }
        (true, Some(_)) => return None,
        (false, Some(c)) => format!("USD{amount}.{c:02}"),
        (false, None) => format!("USD{amount}.00"),
    })
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// An ordinal day ("fifth", "twenty first", "5th") or a cardinal 1–31.
fn day_of_month(w: &[&str]) -> Option<u32> {
    const ORD: [&str; 20] = [
        "zeroth",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
    ];
    let d = match w {
        [one] => {
            let digits = one.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                digits.parse().ok()?
            } else if let Some(i) = ORD.iter().position(|o| o == one) {
                u32::try_from(i).ok()?
            } else if *one == "twentieth" {
                20
            } else if *one == "thirtieth" {
                30
            } else {
                u32::try_from(cardinal(w)?).ok()?
            }
        }
        [tens, unit] => {
            let base = match *tens {
                "twenty" => 20,
                "thirty" => 30,
                _ => return None,
            };
            let u = ORD
                .iter()
                .position(|o| o == unit)
                .or_else(|| UNITS.iter().take(10).position(|o| o == unit))?;
            if u == 0 {
                return None;
            }
            base + u32::try_from(u).ok()?
        }
        _ => return None,
    };
    (1..=31).contains(&d).then_some(d)
}

/// A year: "two thousand three", "nineteen ninety nine", "twenty oh five", "2003".
fn year(w: &[&str]) -> Option<u32> {
    if let Some(y) = cardinal(w)
        && (1000..=2999).contains(&y)
    {
        return u32::try_from(y).ok();
    }
    for split in 1..w.len() {
        let Some(hi) = cardinal(&w[..split]) else {
            continue;
        };
        if !(10..=99).contains(&hi) {
            continue;
        }
        let lo = match &w[split..] {
            ["hundred"] => Some(0),
            ["oh" | "o", unit] => digit_word(unit).and_then(|d| d.to_digit(10)).map(u64::from),
            rest => cardinal(rest),
        };
        let Some(lo) = lo else { continue };
        if (10..=99).contains(&lo) || (lo < 10 && matches!(w[split], "oh" | "o" | "hundred")) {
            return u32::try_from(hi * 100 + lo).ok();
        }
    }
    None
}

/// "january fifth two thousand three", "the fifth of january", "march 3rd"
/// → `yyyymmdd` with `?` for missing parts.
fn spoken_date(w: &[&str]) -> Option<String> {
    let w = w.strip_prefix(&["the"]).unwrap_or(w);
    let month_at = w.iter().position(|x| MONTHS.contains(x))?;
    let month = u32::try_from(MONTHS.iter().position(|m| *m == w[month_at])?).ok()? + 1;
    let (day, year_words): (u32, &[&str]) = if month_at == 0 {
        // month day [year]: try the shortest day phrase that leaves a year.
        let rest = &w[1..];
        let mut found = None;
        for len in 1..=rest.len().min(2) {
            let Some(d) = day_of_month(&rest[..len]) else {
                continue;
            };
            let tail = &rest[len..];
            let tail = tail.strip_prefix(&["of"]).unwrap_or(tail);
            if tail.is_empty() || year(tail).is_some() {
                found = Some((d, tail));
                if !tail.is_empty() {
                    break;
                }
            }
        }
        found?
    } else {
        // day of month [year]
        let before = &w[..month_at];
        let before = before.strip_suffix(&["of"]).unwrap_or(before);
        (day_of_month(before)?, &w[month_at + 1..])
    };
    if day > days_in_month(month) {
        return None;
    }
    let y = if year_words.is_empty() {
        "????".to_owned()
    } else {
        format!("{:04}", year(year_words)?)
    };
    Some(format!("{y}{month:02}{day:02}"))
}

/// "three thirty p m", "noon", "fifteen forty five", "3:30 pm", "seven o'clock
/// in the evening" → `hhmmx` (x: `a`, `p`, `h` for 24-hour, `?` ambiguous).
fn spoken_time(w: &[&str]) -> Option<String> {
    match w {
        ["noon"] | ["midday"] => return Some("1200p".into()),
        ["midnight"] => return Some("1200a".into()),
        _ => {}
    }
    let (w, suffix) = match w {
        [head @ .., "a", "m"] | [head @ .., "am"] | [head @ .., "in", "the", "morning"] => {
            (head, Some('a'))
        }
        [head @ .., "p", "m"]
        | [head @ .., "pm"]
        | [head @ .., "in", "the", "afternoon"]
        | [head @ .., "in", "the", "evening"]
        | [head @ .., "at", "night"] => (head, Some('p')),
        _ => (w, None),
    };
    let (h, m) = match w {
        [t] if t.contains(':') => {
            let (h, m) = t.split_once(':')?;
            if m.len() != 2 {
                return None;
            }
            (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)
        }
        [h, "o'clock" | "oclock"] | [h] => (u32::try_from(cardinal(&[h])?).ok()?, 0),
        [h, "oh" | "o", unit] => (
            u32::try_from(cardinal(&[h])?).ok()?,
            digit_word(unit)?.to_digit(10)?,
        ),
        [h, rest @ ..] => (
            u32::try_from(cardinal(&[h])?).ok()?,
            u32::try_from(cardinal(rest)?).ok()?,
        ),
        [] => return None,
    };
    if m > 59 {
        return None;
    }
    let x = match suffix {
        Some(s) if (1..=12).contains(&h) => s,
        Some(_) => return None,
        None if h == 0 || (13..=23).contains(&h) => 'h',
        None if h <= 12 => '?',
        None => return None,
    };
    Some(format!("{h:02}{m:02}{x}"))
}

/// Digit words for a telephone number, "extension" before an extension.
fn spoken_phone(w: &[&str]) -> Option<String> {
    let (main, ext) = match w
        .iter()
        .position(|x| matches!(*x, "extension" | "ext" | "x"))
    {
        Some(p) => (&w[..p], Some(&w[p + 1..])),
        None => (w, None),
    };
    let main: Vec<&str> = main.iter().copied().filter(|x| *x != "-").collect();
    let mut out = spoken_digits(&main)?;
    if let Some(e) = ext {
        out.push('x');
        out.push_str(&spoken_digits(e)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(ty: &str, said: &str) -> Option<Value> {
        let b = Builtin::from_uri(&format!("builtin:voice/{ty}"), "en-US").expect("builtin");
        let toks: Vec<String> = said.split_whitespace().map(str::to_lowercase).collect();
        b.matches(&toks).full
    }

    fn dtmf(uri: &str, keys: &str) -> GrammarMatch<Value> {
        let b = Builtin::from_uri(uri, "en-US").expect("builtin");
        let toks: Vec<String> = keys.chars().map(|c| c.to_string()).collect();
        b.matches(&toks)
    }

    fn text(s: &str) -> Option<Value> {
        Some(Value::Text(s.to_owned()))
    }

    #[test]
    fn boolean() {
        assert_eq!(voice("boolean", "yes"), Some(Value::Bool(true)));
        assert_eq!(voice("boolean", "that's right"), Some(Value::Bool(true)));
        assert_eq!(voice("boolean", "nope"), Some(Value::Bool(false)));
        assert_eq!(voice("boolean", "maybe"), None);
        assert_eq!(
            dtmf("builtin:dtmf/boolean", "1").full,
            Some(Value::Bool(true))
        );
        assert_eq!(
            dtmf("builtin:dtmf/boolean", "2").full,
            Some(Value::Bool(false))
        );
        assert_eq!(dtmf("builtin:dtmf/boolean", "3").full, None);
        let custom = "builtin:dtmf/boolean?y=7;n=9";
        assert_eq!(dtmf(custom, "7").full, Some(Value::Bool(true)));
        assert_eq!(dtmf(custom, "9").full, Some(Value::Bool(false)));
        assert_eq!(dtmf(custom, "1").full, None);
        assert!(Builtin::from_uri("builtin:dtmf/boolean?y=1;n=1", "en-US").is_err());
    }

    #[test]
    fn digits() {
        assert_eq!(voice("digits", "one two oh nine"), text("1209"));
        assert_eq!(voice("digits", "double five 3"), text("553"));
        assert_eq!(voice("digits", "one hundred"), None);
        let uri = "builtin:dtmf/digits?minlength=3;maxlength=5";
        assert_eq!(dtmf(uri, "12").full, None);
        assert!(dtmf(uri, "12").open);
        let m = dtmf(uri, "1234");
        assert_eq!((m.full, m.open), (text("1234"), true));
        let m = dtmf(uri, "12345");
        assert_eq!((m.full, m.open), (text("12345"), false));
        assert_eq!(dtmf(uri, "123456").full, None);
        assert_eq!(dtmf(uri, "12*").full, None);
        assert_eq!(dtmf("builtin:dtmf/digits?length=2", "42").full, text("42"));
        assert!(Builtin::from_uri("builtin:dtmf/digits?minlength=x", "en-US").is_err());
        assert!(Builtin::from_uri("builtin:dtmf/digits?colour=red", "en-US").is_err());
    }

    #[test]
    fn number() {
        assert_eq!(voice("number", "one hundred twenty three"), text("123"));
        assert_eq!(voice("number", "two thousand and five"), text("2005"));
        assert_eq!(voice("number", "minus three point one four"), text("-3.14"));
        assert_eq!(voice("number", "a million"), text("1000000"));
        assert_eq!(voice("number", "12.5"), text("12.5"));
        assert_eq!(voice("number", "twenty thirty"), None);
        assert_eq!(voice("number", "hundred hundred"), None);
        assert_eq!(dtmf("builtin:dtmf/number", "12*5").full, text("12.5"));
        assert_eq!(dtmf("builtin:dtmf/number", "1*2*3").full, None);
    }

    #[test]
    fn currency() {
        assert_eq!(
            voice("currency", "twelve dollars and fifty cents"),
            text("USD12.50")
        );
        assert_eq!(voice("currency", "five cents"), text("USD0.05"));
        assert_eq!(voice("currency", "$3.2"), text("USD3.20"));
        assert_eq!(
            voice("currency", "three hundred dollars"),
            text("USD300.00")
        );
        assert_eq!(voice("currency", "twelve"), None);
        assert_eq!(voice("currency", "one dollar and two hundred cents"), None);
        assert_eq!(
            dtmf("builtin:dtmf/currency", "1234*56").full,
            text("1234.56")
        );
        assert_eq!(dtmf("builtin:dtmf/currency", "#").full, None);
    }

    #[test]
    fn date() {
        assert_eq!(
            voice("date", "january fifth two thousand three"),
            text("20030105")
        );
        assert_eq!(voice("date", "the twenty first of march"), text("????0321"));
        assert_eq!(voice("date", "december 3rd 1999"), text("19991203"));
        assert_eq!(
            voice("date", "july fourth nineteen seventy six"),
            text("19760704")
        );
        assert_eq!(voice("date", "february thirtieth"), None);
        assert_eq!(voice("date", "tomorrow maybe"), None);
        assert_eq!(dtmf("builtin:dtmf/date", "20240229").full, text("20240229"));
        assert!(dtmf("builtin:dtmf/date", "2024").open);
        assert_eq!(dtmf("builtin:dtmf/date", "20241301").full, None);
    }

    #[test]
    fn time() {
        assert_eq!(voice("time", "three thirty p m"), text("0330p"));
        assert_eq!(voice("time", "3:30pm"), text("0330p"));
        assert_eq!(voice("time", "noon"), text("1200p"));
        assert_eq!(voice("time", "fifteen forty five"), text("1545h"));
        assert_eq!(voice("time", "seven o'clock"), text("0700?"));
        assert_eq!(voice("time", "nine oh five in the morning"), text("0905a"));
        assert_eq!(voice("time", "twenty five o'clock"), None);
        assert_eq!(voice("time", "three seventy"), None);
        assert_eq!(dtmf("builtin:dtmf/time", "1430").full, text("1430h"));
        assert_eq!(dtmf("builtin:dtmf/time", "0930").full, text("0930?"));
        assert_eq!(dtmf("builtin:dtmf/time", "2561").full, None);
    }

    #[test]
    fn phone() {
        assert_eq!(
            voice("phone", "eight hundred"),
            None,
            "number words are not digits"
        );
        assert_eq!(
            voice("phone", "five five five one two one two extension four two"),
            text("5551212x42")
        );
        assert_eq!(
            dtmf("builtin:dtmf/phone", "8005551212*12").full,
            text("8005551212x12")
        );
        assert_eq!(dtmf("builtin:dtmf/phone", "800#").full, None);
    }

    #[test]
    fn bad_uris() {
        assert!(Builtin::from_uri("builtin:dtmf/colour", "en-US").is_err());
        assert!(Builtin::from_uri("builtin:fax/digits", "en-US").is_err());
        assert!(Builtin::from_uri("builtin:voice/digits", "fr-FR").is_err());
        assert!(Builtin::from_uri("builtin:dtmf/digits", "fr-FR").is_ok());
        let t = Builtin::from_type("digits?minlength=3", Mode::Dtmf, "en-US").expect("type");
        assert_eq!(t.uri(), "builtin:dtmf/digits?minlength=3");
    }
}
