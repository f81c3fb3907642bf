//! Seed 002, "Lock": a bank account that 100 threads deposit into.
//!
//! Each deposit reads the balance, waits a little (Python's `sleep(0.01)`, standing for real
//! work) and writes the new balance. Under a [`Lock`] the read-modify-write is atomic and the
//! balance ends at exactly 100. Without it, deposits that overlap read the same old balance and
//! overwrite each other: lost updates. The unlocked run is safe Rust (the balance is an atomic
//! that is loaded and stored separately), so it shows the race without undefined behaviour.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::Run;
use amphi::{thread, Error, Lock};

const DEPOSITORS: u64 = 100;
const WORK: Duration = Duration::from_millis(10);

/// A bank account whose balance is protected by a [`Lock`] when `guarded`.
#[derive(Debug, Default)]
struct Account {
    balance: AtomicU64,
    lock: Lock,
}

impl Account {
    fn deposit(&self, money: u64, guarded: bool) -> Result<(), Error> {
        let _held = if guarded {
            Some(self.lock.acquire()?)
        } else {
            None
        };
        let new_balance = self.balance.load(Ordering::Relaxed) + money;
        thread::sleep(WORK)?;
        self.balance.store(new_balance, Ordering::Relaxed);
        Ok(())
    }
}

fn deposit_from_many_threads(guarded: bool) -> Result<u64, Error> {
    let account = Arc::new(Account::default());
    let depositors = (0..DEPOSITORS)
        .map(|i| {
            let account = Arc::clone(&account);
            thread::Builder::new()
                .name(format!("depositor-{i}"))
                .spawn(move || account.deposit(1, guarded))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for depositor in depositors {
        depositor.join()??;
    }
    Ok(account.balance.load(Ordering::Relaxed))
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let balance = deposit_from_many_threads(true)?;
    run.line(format!(
        "With the lock: {DEPOSITORS} threads deposited 1 each. Account balance: {balance}"
    ));
    run.check(
        format!("balance == {DEPOSITORS}"),
        balance == DEPOSITORS,
        format!("balance is {balance}"),
    );

    let unguarded = deposit_from_many_threads(false)?;
    let lost = DEPOSITORS - unguarded.min(DEPOSITORS);
    run.line(format!(
        "Without the lock: account balance {unguarded}; {lost} deposits were lost because \
         threads read the same old balance and overwrote each other."
    ));
    run.check(
        "the unguarded balance never exceeds the deposits",
        (1..=DEPOSITORS).contains(&unguarded),
        format!("balance is {unguarded}"),
    );
    Ok(())
}
