//! `moodlens feedback <item> --like|--dislike`: personalisation of later lists.

use super::args::StoreArgs;
use anyhow::Result;
use clap::Args;
use std::io::Write;

/// `moodlens feedback <item> --like|--dislike`
#[derive(Args, Debug, Clone, PartialEq)]
pub struct FeedbackArgs {
    /// The item: its key (from `recommend --json`) or its title.
    pub item: String,
    /// Show more like it (raises the weight of its genres / artist).
    #[arg(long, conflicts_with = "dislike", required_unless_present = "dislike")]
    pub like: bool,
    /// Never show it again.
    #[arg(long)]
    pub dislike: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `moodlens feedback <item> --like|--dislike`
pub fn run(args: &FeedbackArgs, out: &mut dyn Write) -> Result<()> {
    let mut store = args.store.open()?;
    let liked = args.like && !args.dislike;
    let fb = moodlens_recommend::engine::feedback(&mut store, &args.item, liked)?;
    if liked {
        writeln!(
            out,
            "Liked: {} ({}). More like it will come.",
            fb.title, fb.item_key
        )?;
    } else {
        writeln!(
            out,
            "Disliked: {} ({}). It will not be shown again.",
            fb.title, fb.item_key
        )?;
    }
    Ok(())
}
