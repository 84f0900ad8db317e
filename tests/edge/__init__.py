"""Tests of the edge agent (`sf edge`)."""
