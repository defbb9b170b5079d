//! Decimal digits without allocating, for ids and `retry` values.

/// Writes `n` in decimal at the end of `buf` and returns the digits.
pub(crate) fn write_decimal(mut n: u128, buf: &mut [u8; 40]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        #[allow(clippy::cast_possible_truncation)] // n % 10 < 10
        {
            buf[i] = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}
