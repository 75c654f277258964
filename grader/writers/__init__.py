"""Writers: finished Reports to the files people read (one module per format)."""
