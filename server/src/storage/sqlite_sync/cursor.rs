//! The pull cursor a device stores and sends back. It is opaque to devices (docs/PROTOCOL.md):
//! beside the log position a page reached, it carries the user's scope epoch when the page was
//! served (how many scope changes of the user were recorded then). A pull restarts the device
//! from 0 when the epoch in its cursor is not the user's current one, which is exact: a device
//! that bootstraps after a scope change gets cursors of the new epoch on every page, however far
//! below the change its position lies. (With the position alone, every page of a bootstrap
//! whose position lay below the user's last scope change restarted it again, forever.)
//!
//! Layout: bit 62 marks an epoch cursor, bits 40..62 the epoch, bits 0..40 the position. A
//! cursor without the mark is a position alone (what servers before this one handed out, and
//! what a position past 2^40 falls back to); for those the old rule decides: a scope change
//! recorded after the position restarts.

const EPOCH_MARK: u64 = 1 << 62;
const POSITION_BITS: u32 = 40;
const POSITION_MASK: u64 = (1 << POSITION_BITS) - 1;
const EPOCH_MASK: u64 = (1 << (62 - POSITION_BITS)) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The highest log sequence number the device has applied (0: nothing yet).
    pub position: i64,
    /// The user's scope epoch when the page was served; `None` for a plain position.
    pub epoch: Option<u64>,
}

impl Cursor {
    pub(crate) fn decode(raw: u64) -> Cursor {
        if raw & EPOCH_MARK != 0 && raw < (EPOCH_MARK << 1) {
            Cursor {
                position: i64::try_from(raw & POSITION_MASK).unwrap_or(i64::MAX),
                epoch: Some((raw >> POSITION_BITS) & EPOCH_MASK),
            }
        } else {
            Cursor {
                position: i64::try_from(raw).unwrap_or(i64::MAX),
                epoch: None,
            }
        }
    }

    /// The cursor of a page that reached `position`, served at scope `epoch`.
    pub(crate) fn encode(position: i64, epoch: u64) -> u64 {
        let Ok(position) = u64::try_from(position) else {
            return 0;
        };
        if position > POSITION_MASK {
            return position;
        }
        EPOCH_MARK | ((epoch & EPOCH_MASK) << POSITION_BITS) | position
    }
}

/// The log position in a cursor a device sent (for tests and tools that compare it with the log).
pub fn cursor_position(raw: u64) -> i64 {
    Cursor::decode(raw).position
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_plain_positions_stay_plain() {
        for (position, epoch) in [(0, 0), (1, 0), (17, 3), (POSITION_MASK as i64, EPOCH_MASK)] {
            let raw = Cursor::encode(position, epoch);
            assert_eq!(
                Cursor::decode(raw),
                Cursor {
                    position,
                    epoch: Some(epoch)
                }
            );
            assert!(i64::try_from(raw).is_ok(), "devices store cursors as i64");
        }
        assert_eq!(
            Cursor::decode(42),
            Cursor {
                position: 42,
                epoch: None
            }
        );
        let far = (POSITION_MASK + 1) as i64;
        assert_eq!(Cursor::decode(Cursor::encode(far, 2)).position, far);
        assert_eq!(Cursor::decode(u64::MAX).epoch, None);
    }
}
