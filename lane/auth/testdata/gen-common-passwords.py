# Builds lane/auth/common-passwords.txt from hand-written word lists and
# patterns (written for Examlane; no list was copied).
base = """
password passw0rd p@ssword p@ssw0rd password1 password12 password123 password1234 passwords passwort
123456 1234567 12345678 123456789 1234567890 12345 1234 123123 123321 654321 666666 111111 000000
121212 112233 123123123 987654321 7654321 87654321 11111111 22222222 00000000 99999999 88888888
12344321 11223344 1q2w3e4r 1q2w3e4r5t 1q2w3e 1qaz2wsx 1qazxsw2 zaq12wsx zaq1zaq1 qazwsx qazwsxedc
qwerty qwerty1 qwerty12 qwerty123 qwertyuiop qwertyui qwert asdfgh asdfghjk asdfghjkl asdf1234
zxcvbn zxcvbnm zxcvbnm1 qweasd qweasdzxc qwe123 asd123 zxc123 1qaz2wsx3edc !qaz2wsx qwer1234
abc123 abc1234 abcd1234 abcdef abcdefg abcdefgh a1b2c3d4 a1b2c3 aa123456 aaaaaa aaaaaaaa
iloveyou iloveu iloveyou1 iloveyou2 loveyou lovely loveme lover love123 mylove ilovegod
princess princesa sunshine sunflower butterfly rainbow flower flowers angel angels angel1
monkey dragon master shadow superman batman spiderman starwars pokemon naruto ninja
football baseball basketball soccer hockey golfer tennis cricket rugby jordan23 michael jordan
letmein welcome welcome1 welcome123 hello hello123 hellohello secret secret123 trustno1 whatever
freedom liberty monkey123 dragon123 master123 shadow123 login admin admin123 admin1234 administrator
root toor guest user user123 test test123 testing tester default changeme changeit temp temp123
passpass pass1234 pass123 mypassword yourpassword newpassword oldpassword nopassword
computer internet samsung google yahoo hotmail gmail facebook twitter linkedin microsoft apple
chocolate cookie cookies cheese pepper ginger banana orange apple123 cherry peaches strawberry
summer winter spring autumn august september october november december january february
monday tuesday friday sunday weekend holiday christmas easter birthday
killer hunter hunter2 ranger soldier warrior viper cobra tiger tigers lion lions eagle eagles
falcon hawk wolf wolves bear bears panther panthers jaguar mustang ferrari porsche corvette
harley yamaha honda toyota nissan mercedes bmw audi ford chevy camaro
charlie thomas robert william daniel matthew joshua andrew anthony joseph david richard
jessica ashley amanda jennifer sarah michelle nicole melissa stephanie elizabeth samantha
jasmine natasha tiffany heather amber taylor brandon justin tyler austin dallas boston
chicago london paris berlin madrid toronto sydney melbourne newyork california texas florida
america canada england australia ireland scotland germany france brazil mexico
pakistan india nigeria kenya
maggie buster bailey charlie1 max123 buddy molly daisy lucky rocky coco ginger1 sadie
zaq1xsw2 xsw2zaq1 1qa2ws3ed 1z2x3c4v 4r3e2w1q
qwerty123456 123qwe 123qweasd 123abc 123456a 123456q a123456 q123456 1234qwer qwer4321
asdfasdf asdf qwerqwer zxczxc abcabc abc12345 asdasd asdasdasd qweqwe qweqweqwe
trustme believe faith jesus jesus1 jesuschrist blessed blessing godisgood heaven
family family1 friends friend forever together happiness happy smile smiley
money money123 dollar rich business success winner winning champion legend
matrix phoenix thunder lightning storm hurricane tornado blizzard
secure security access access14 passcode pincode keyboard mouse monitor laptop desktop
office office123 work work123 company company1 staff staff123 team team123
doctor doctor1 nurse nurse123 hospital clinic clinic1 medical health health1 patient patients
optometry optometrist optician optical optics glasses eyeglasses spectacles contacts lenses
eyecare eyeexam eyedoctor eyeclinic eyesight vision vision1 visioncare clearvision 2020vision
perfectvision lens lens123 retina cornea pupil iris cataract glaucoma myopia snellen
frontdesk reception reception1 receptionist technician tech123 scheduler billing
examroom exam123 lane1 lane123 practice practice1 practice123
pa55word pa55w0rd passw0rd1 p4ssword p4ssw0rd pas$word
qwertyu qwertz qwertz123 azerty azerty123 azertyuiop
123654 147258 147258369 159357 159753 741852963 963852741 258456 852456 456789 789456
123789 321654 135790 246810 13579 24680 102030 101010 202020 303030 123000 100200
0987654321 09876543 1212121212 5555555 55555555 7777777 77777777 1111111111
lol123 lmao haha hahaha hehe xoxo xoxoxo
killer123 hello1 hi123 goodluck goodbye nothing anything something everything
mustang1 shadow1 master1 dragon1 monkey1 letmein1 sunshine1 princess1 football1 baseball1
starwars1 superman1 batman1 michael1 jordan1 jennifer1 jessica1 charlie2
blink182 slipknot metallica nirvana eminem beyonce rihanna
minecraft fortnite roblox pokemon1 zelda mario nintendo playstation xbox xbox360 gamer
cowboy cowboys yankees redsox lakers bulls raiders steelers packers patriots broncos
arsenal chelsea liverpool manutd barcelona realmadrid juventus
superstar rockstar popstar starlight moonlight midnight sunset sunrise
purple yellow orange1 silver golden diamond crystal pearl ruby emerald sapphire
asshole fuckyou fuckoff bitch shit damnit
"""
import itertools
words = set(base.split())
seasons = ["spring","summer","autumn","fall","winter"]
years = [str(y) for y in range(2015, 2031)]
for s in seasons:
    for y in years:
        words.add(s + y)
        words.add(s + y[2:])
for m in ["january","february","march","april","may","june","july","august","september","october","november","december"]:
    for y in ["2023","2024","2025","2026"]:
        words.add(m + y)
for w in ["password","welcome","letmein","qwerty","monkey","dragon","iloveyou","admin","sunshine","princess","football","baseball","master","shadow","michael","superman","trustno1","hello","freedom","whatever","login","secret","eyeexam","optical","vision","examlane","clinic","doctor","nurse","office","practice","glasses","optometry","lens","welcome","summer","winter","spring","autumn"]:
    for suf in ["1","12","123","1234","12345","!","1!","123!","01","2024","2025","2026","!!","@1","#1","99","00","007","69","11","22","21","23"]:
        words.add(w + suf)
for w in ["eyeexam","eyecare","vision","optical","glasses","lens","clinic","examlane","optometry","optician"]:
    for suf in ["1","12","123","2024","2025","2026","!","2020"]:
        words.add(w + suf)
for first in ["pass","word","love","life","baby","sexy","cool","nice","good","best","king","queen","boss","star"]:
    for suf in ["123","1234","12345","2024","2025","!","1"]:
        words.add(first + suf)
words = {w.lower() for w in words if len(w) >= 4}
out = sorted(words)
with open("/work/main/lane/auth/common-passwords.txt","w") as f:
    f.write("# Common and breached-style passwords refused by auth.PasswordPolicy.\n")
    f.write("# Written for Examlane from well-known patterns (top passwords, keyboard\n")
    f.write("# walks, names, sports, seasons and years, practice-themed words); see\n")
    f.write("# testdata/README.md. One per line, lower case; '#' starts a comment.\n")
    for w in out:
        f.write(w + "\n")
print(len(out))
