"""States shared by several pages; a page's own state lives beside it in pages/."""
