"""The terminal: a pretend platform with several members and chats, interactive or scripted."""
