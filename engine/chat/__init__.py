"""Conversations: sessions, chat templates, prompt presets and the chat history."""
