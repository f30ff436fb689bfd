"""Manual review: what a person sees and enters after grading (`grade review OUT`).

answers.py: the manual items of a stored result; page.py: the review page
(a student's markdown through grader/report/markup.py); ledger.py: the door to grader/manual.py;
server.py: the local server.
"""
