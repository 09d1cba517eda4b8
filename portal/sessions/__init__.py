"""Signed-in sessions: how long each lasts (the policy), tracking them, ending them, and the page that lists them."""
