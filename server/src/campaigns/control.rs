//! The control group: a random share of a campaign's targets that gets no action, so its
//! results can be measured against what the same kind of customers did anyway. Drawn once,
//! when the targets are frozen, from the campaign's own seed (stored with it), so the draw is
//! reproducible for an audit.

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

/// The largest share held out, in percent: at least half the targets get the action.
pub const MAX_CONTROL_PCT: u8 = 50;

/// How many of `targets` a `control_pct` holds out: rounded to the nearest customer, and at
/// least one whenever a share is asked for and there are two targets or more (a control group
/// of nobody measures nothing).
pub fn control_size(targets: usize, control_pct: u8) -> usize {
    let pct = usize::from(control_pct.min(MAX_CONTROL_PCT));
    if pct == 0 || targets < 2 {
        return 0;
    }
    ((targets * pct + 50) / 100).max(1)
}

/// Marks the control group among `customer_ids` (in the order given): `true` for a customer
/// held out.
pub fn draw_control(customer_ids: &[String], control_pct: u8, seed: u64) -> Vec<bool> {
    let size = control_size(customer_ids.len(), control_pct);
    let mut order: Vec<usize> = (0..customer_ids.len()).collect();
    order.shuffle(&mut SmallRng::seed_from_u64(seed));
    let mut control = vec![false; customer_ids.len()];
    for &index in order.iter().take(size) {
        control[index] = true;
    }
    control
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i:04}")).collect()
    }

    #[test]
    fn the_group_has_the_share_asked_for() {
        assert_eq!(control_size(1_000, 10), 100);
        assert_eq!(control_size(15, 10), 2, "1.5 rounds to 2");
        assert_eq!(control_size(3, 10), 1, "at least one");
        assert_eq!(control_size(1, 10), 0, "a lone target is treated");
        assert_eq!(control_size(100, 0), 0);
        assert_eq!(control_size(100, 90), 50, "capped at half");
        let drawn = draw_control(&ids(1_000), 10, 7);
        assert_eq!(drawn.iter().filter(|c| **c).count(), 100);
    }

    #[test]
    fn the_draw_is_reproducible_and_depends_on_the_seed() {
        let a = draw_control(&ids(500), 20, 42);
        assert_eq!(a, draw_control(&ids(500), 20, 42));
        assert_ne!(a, draw_control(&ids(500), 20, 43));
        // Spread over the list, not its first customers.
        assert!(a[250..].iter().any(|c| *c) && a[..250].iter().any(|c| *c));
    }
}
