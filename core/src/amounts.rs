//! Amounts as people type and read them ("1250.50 EUR"), to and from [`Money`]'s integer minor
//! units: how many minor digits a currency has (ISO 4217), parsing a decimal without floating
//! point, and formatting.

use crate::error::ValidationError;
use crate::model::Money;

/// Currencies whose minor unit is not a hundredth (ISO 4217); every other has two digits.
const MINOR_DIGITS: &[(&str, u32)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

/// The number of digits after the decimal point in `currency`'s amounts.
pub fn minor_digits(currency: &str) -> u32 {
    MINOR_DIGITS
        .iter()
        .find(|(code, _)| *code == currency)
        .map_or(2, |(_, digits)| *digits)
}

/// Parses `1250`, `1250.5` or `1250.50` (a dot or a comma before the minor digits) as an amount
/// of `currency`, which must be a three-letter code in upper case. Refused: a sign, more minor
/// digits than the currency has, anything but digits, an amount beyond `i64` minor units.
pub fn parse_amount(text: &str, currency: &str) -> Result<Money, ValidationError> {
    let malformed = |detail: &str| ValidationError::Malformed {
        field: "amount".into(),
        detail: detail.into(),
    };
    let digits = minor_digits(currency);
    let text = text.trim();
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(malformed("expected an amount such as 1250.50"));
    }
    if fraction.len() > digits as usize {
        return Err(malformed(&format!(
            "{currency} has {digits} digits after the decimal point"
        )));
    }
    let too_large = || ValidationError::OutOfRange {
        field: "amount".into(),
        detail: "amount is too large".into(),
    };
    let scale = 10_i64.pow(digits);
    let whole: i64 = whole.parse().map_err(|_| too_large())?;
    let padded = format!("{fraction:0<width$}", width = digits as usize);
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|_| too_large())?
    };
    let minor = whole
        .checked_mul(scale)
        .and_then(|m| m.checked_add(fraction))
        .ok_or_else(too_large)?;
    let money = Money {
        minor,
        currency: currency.to_owned(),
    };
    money.validate()?;
    Ok(money)
}

/// `1250.50 EUR`, `1250 JPY`, `-` signs kept; the currency's minor digits always shown.
pub fn format_amount(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return format!("{minor} {currency}");
    }
    let scale = 10_u64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_the_currencys_minor_units() {
        let minor = |text: &str, currency: &str| parse_amount(text, currency).map(|m| m.minor);
        assert_eq!(minor("1250.50", "EUR"), Ok(125_050));
        assert_eq!(minor("1250,5", "EUR"), Ok(125_050));
        assert_eq!(minor(" 1250 ", "EUR"), Ok(125_000));
        assert_eq!(minor("0.07", "EUR"), Ok(7));
        assert_eq!(minor("1250", "JPY"), Ok(1_250));
        assert_eq!(minor("1.250", "KWD"), Ok(1_250));
        assert_eq!(minor("92233720368547758.07", "EUR"), Ok(i64::MAX));
        for (bad, currency) in [
            ("", "EUR"),
            ("-1", "EUR"),
            ("+1", "EUR"),
            ("1.234", "EUR"),
            ("1.5", "JPY"),
            ("1e3", "EUR"),
            (".5", "EUR"),
            ("1.2.3", "EUR"),
            ("12 50", "EUR"),
            ("92233720368547758.08", "EUR"),
            ("99999999999999999999", "EUR"),
            ("10", "eur"),
            ("10", "EURO"),
        ] {
            assert!(parse_amount(bad, currency).is_err(), "{bad} {currency}");
        }
    }

    #[test]
    fn amounts_format_with_the_currencys_digits() {
        assert_eq!(format_amount(125_050, "EUR"), "1250.50 EUR");
        assert_eq!(format_amount(7, "EUR"), "0.07 EUR");
        assert_eq!(format_amount(1_250, "JPY"), "1250 JPY");
        assert_eq!(format_amount(1_250, "KWD"), "1.250 KWD");
        assert_eq!(format_amount(-5, "EUR"), "-0.05 EUR");
        assert_eq!(format_amount(i64::MIN, "EUR"), "-92233720368547758.08 EUR");
        for (minor, currency) in [(125_050, "EUR"), (1_250, "JPY"), (0, "CHF")] {
            let text = format_amount(minor, currency);
            let (number, code) = text.split_once(' ').unwrap_or_default();
            assert_eq!(parse_amount(number, code).map(|m| m.minor), Ok(minor));
        }
    }
}
