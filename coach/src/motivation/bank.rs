//! The message bank: short daily messages written for SPARTA (no quotations of other people).
//!
//! Placeholders, filled by the engine from the input: `{streak}` (streak days), `{exercise}`
//! (catalogue name of the PR exercise), `{weight}` (PR load with its unit), `{reps}` (PR reps),
//! `{days}` (days since the last workout) and `{goal}` (a phrase for the athlete's goal). A template
//! only uses the placeholders of its situation, and contains no digits of its own, so every number in
//! a message comes from the input (the guardrails rely on this).

use super::Tone;

/// What a message speaks to; decides which placeholders it may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Situation {
    /// A recent personal record: `{exercise}`, `{weight}`, `{reps}`.
    Pr,
    /// A training streak: `{streak}`.
    Streak,
    /// Back after a break of several days: `{days}`.
    Comeback,
    /// Trained yesterday or today: no number.
    Momentum,
    /// Nothing known beyond the profile: `{goal}`.
    General,
}

impl Situation {
    /// Short id segment.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Situation::Pr => "pr",
            Situation::Streak => "streak",
            Situation::Comeback => "comeback",
            Situation::Momentum => "momentum",
            Situation::General => "general",
        }
    }

    /// The placeholders templates of this situation may use (checked by the bank's tests).
    #[cfg(test)]
    pub(crate) fn placeholders(self) -> &'static [&'static str] {
        match self {
            Situation::Pr => &["{exercise}", "{weight}", "{reps}", "{goal}"],
            Situation::Streak => &["{streak}", "{goal}"],
            Situation::Comeback => &["{days}", "{goal}"],
            Situation::Momentum | Situation::General => &["{goal}"],
        }
    }
}

/// One template of the bank.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Template {
    /// Tone it is written in.
    pub(crate) tone: Tone,
    /// What it speaks to.
    pub(crate) situation: Situation,
    /// Text with placeholders.
    pub(crate) text: &'static str,
}

const fn t(tone: Tone, situation: Situation, text: &'static str) -> Template {
    Template {
        tone,
        situation,
        text,
    }
}

use Situation::{Comeback, General, Momentum, Pr, Streak};
use Tone::{Calm, Celebratory, Encouraging, ToughLove};

/// The bank: 4 tones × 5 situations × at least 3 messages.
pub(crate) const BANK: &[Template] = &[
    // Encouraging.
    t(
        Encouraging,
        Pr,
        "{weight} for {reps} on the {exercise} is proof the work is paying off. Keep stacking good sessions.",
    ),
    t(
        Encouraging,
        Pr,
        "Your {exercise} PR of {weight} for {reps} didn't happen by accident. Bring the same focus today.",
    ),
    t(
        Encouraging,
        Pr,
        "A new best on the {exercise}: {weight} for {reps}. Every rep of it was earned, and there is more to come.",
    ),
    t(
        Encouraging,
        Streak,
        "{streak} days in a row. That kind of consistency is what {goal} is really made of.",
    ),
    t(
        Encouraging,
        Streak,
        "Day {streak} of showing up. You are building a habit that will outlast any single workout.",
    ),
    t(
        Encouraging,
        Streak,
        "A {streak}-day streak is no small thing. Keep it honest and keep it going.",
    ),
    t(
        Encouraging,
        Comeback,
        "It has been {days} days, and that is fine. Today is a great day to pick things back up.",
    ),
    t(
        Encouraging,
        Comeback,
        "{days} days off doesn't erase what you built. Start easy, move well, and enjoy being back.",
    ),
    t(
        Encouraging,
        Comeback,
        "Welcome back after {days} days. One good session is all it takes to restart the rhythm.",
    ),
    t(
        Encouraging,
        Momentum,
        "Yesterday's work is in the bank. Today, focus on clean reps and steady effort.",
    ),
    t(
        Encouraging,
        Momentum,
        "You're in a good rhythm right now. Keep the quality high and let the progress follow.",
    ),
    t(
        Encouraging,
        Momentum,
        "Back-to-back effort adds up. Listen to your body today and give it your best honest work.",
    ),
    t(
        Encouraging,
        General,
        "Every session moves you closer to {goal}. Show up, do the work, and trust the process.",
    ),
    t(
        Encouraging,
        General,
        "You don't need a perfect day to have a productive one. Start with the first set.",
    ),
    t(
        Encouraging,
        General,
        "Small, steady steps are how {goal} happens. Today is one more of them.",
    ),
    t(
        Encouraging,
        General,
        "Good training is built one focused rep at a time. You've got this.",
    ),
    // Tough love.
    t(
        ToughLove,
        Pr,
        "{weight} for {reps} on the {exercise}. Nice. Now prove it wasn't a one-off.",
    ),
    t(
        ToughLove,
        Pr,
        "The {exercise} PR at {weight} for {reps} is yesterday's news. Today's job is to earn the next one.",
    ),
    t(
        ToughLove,
        Pr,
        "You hit {weight} for {reps} on the {exercise}. Don't celebrate too long, the bar is waiting.",
    ),
    t(
        ToughLove,
        Streak,
        "{streak} days straight. Good. Streaks die on the days you feel like skipping, so don't.",
    ),
    t(
        ToughLove,
        Streak,
        "Day {streak}. Nobody cares how you feel about it, just get the work done.",
    ),
    t(
        ToughLove,
        Streak,
        "A {streak}-day streak means nothing if today is sloppy. Make every set count.",
    ),
    t(
        ToughLove,
        Comeback,
        "{days} days away. Excuses are over, the plan starts again today.",
    ),
    t(
        ToughLove,
        Comeback,
        "It's been {days} days. You know what you need to do, so go and do it.",
    ),
    t(
        ToughLove,
        Comeback,
        "{days} days off is enough rest. Get under the bar and get back to work.",
    ),
    t(
        ToughLove,
        Momentum,
        "You trained yesterday. That buys you nothing today unless you show up again.",
    ),
    t(
        ToughLove,
        Momentum,
        "Momentum is easy to lose and hard to get back. Don't give it away today.",
    ),
    t(
        ToughLove,
        Momentum,
        "Yesterday was good. Today has to be just as honest. No shortcuts.",
    ),
    t(
        ToughLove,
        General,
        "{goal} doesn't care about your mood. Do the work anyway.",
    ),
    t(
        ToughLove,
        General,
        "Nobody is coming to do your sets for you. Start now.",
    ),
    t(
        ToughLove,
        General,
        "Discipline beats motivation. Open the plan and follow it.",
    ),
    t(
        ToughLove,
        General,
        "Stop waiting for the perfect moment. The next set is the moment.",
    ),
    // Calm.
    t(
        Calm,
        Pr,
        "{weight} for {reps} on the {exercise} shows where patient work leads. Keep the same steady approach.",
    ),
    t(
        Calm,
        Pr,
        "Take a moment to note your {exercise} best: {weight} for {reps}. Then return to the plan, one set at a time.",
    ),
    t(
        Calm,
        Pr,
        "Your {exercise} reached {weight} for {reps}. Progress like that comes from consistency, not from rushing.",
    ),
    t(
        Calm,
        Streak,
        "{streak} days of steady practice. Keep the pace sustainable and let it carry you.",
    ),
    t(
        Calm,
        Streak,
        "Day {streak}. No need to do more than the plan asks, just do it well.",
    ),
    t(
        Calm,
        Streak,
        "A {streak}-day streak is a quiet kind of strength. Breathe, settle in, and train.",
    ),
    t(
        Calm,
        Comeback,
        "After {days} days away, ease back in. Your body remembers more than you think.",
    ),
    t(
        Calm,
        Comeback,
        "{days} days since your last session. Begin gently and let the rhythm return on its own.",
    ),
    t(
        Calm,
        Comeback,
        "Returning after {days} days is a good decision. Move with care and enjoy the work.",
    ),
    t(
        Calm,
        Momentum,
        "You trained recently, so let today be steady and controlled. Quality over urgency.",
    ),
    t(
        Calm,
        Momentum,
        "Stay present with each rep today. Yesterday's work will settle in while you rest between sets.",
    ),
    t(
        Calm,
        Momentum,
        "A steady rhythm is forming. Keep your breathing slow and your technique clean.",
    ),
    t(
        Calm,
        General,
        "Progress towards {goal} is rarely loud. Show up, breathe, and do what is in front of you.",
    ),
    t(
        Calm,
        General,
        "One set at a time is enough. Let the session unfold without hurry.",
    ),
    t(
        Calm,
        General,
        "Training is a long conversation with your body. Listen well today.",
    ),
    t(
        Calm,
        General,
        "There is no rush. Careful, consistent work is what lasts.",
    ),
    // Celebratory.
    t(
        Celebratory,
        Pr,
        "New PR! {weight} for {reps} on the {exercise}. That is a milestone worth celebrating.",
    ),
    t(
        Celebratory,
        Pr,
        "{exercise}: {weight} for {reps}! A fresh personal best, and you earned every bit of it.",
    ),
    t(
        Celebratory,
        Pr,
        "Look at that {exercise} PR, {weight} for {reps}! Enjoy it, you built it.",
    ),
    t(
        Celebratory,
        Streak,
        "{streak} days in a row! That is a streak to be proud of.",
    ),
    t(
        Celebratory,
        Streak,
        "Day {streak} and still going strong! Your consistency is something to celebrate.",
    ),
    t(
        Celebratory,
        Streak,
        "A {streak}-day streak! Showing up like this is how {goal} becomes real.",
    ),
    t(
        Celebratory,
        Comeback,
        "You're back after {days} days! Great to see you return to training.",
    ),
    t(
        Celebratory,
        Comeback,
        "{days} days away and here you are again. Welcome back, that's a win already!",
    ),
    t(
        Celebratory,
        Comeback,
        "Back in action after {days} days! Today counts double for showing up.",
    ),
    t(
        Celebratory,
        Momentum,
        "Another day, another session! You're on a roll, enjoy the momentum.",
    ),
    t(
        Celebratory,
        Momentum,
        "Yesterday done, today on deck. Love this run of effort!",
    ),
    t(
        Celebratory,
        Momentum,
        "You keep turning up! That rhythm is worth celebrating.",
    ),
    t(
        Celebratory,
        General,
        "Every workout is a small victory on the way to {goal}. Here's to today's!",
    ),
    t(
        Celebratory,
        General,
        "Today is a chance to do something your future self will thank you for. Let's go!",
    ),
    t(
        Celebratory,
        General,
        "Here's to strong reps and a great session ahead!",
    ),
    t(
        Celebratory,
        General,
        "You chose to train today, and that deserves a cheer!",
    ),
];

/// Extra sentence appended when a streak is known but the main message speaks to something else.
pub(crate) fn streak_tail(tone: Tone) -> &'static str {
    match tone {
        Tone::Encouraging => " That makes {streak} days in a row, too.",
        Tone::ToughLove => " Day {streak} of the streak: keep it alive.",
        Tone::Calm => " Your streak stands at {streak} days.",
        Tone::Celebratory => " And that's {streak} days in a row!",
    }
}
